// SPDX-License-Identifier: GPL-2.0
/* Finding and watching followed files: glob rescans (on directory events and a 1 s poll that
 * catches what inotify cannot see, e.g. through /proc/PID/root or on some overlay mounts),
 * rotation detection, and the eventfd that spreads reading over loop turns. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loop/loop.h"
#include "tail_int.h"
#include "util/log.h"

#define DIR_EVENTS (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY)

static void full_pattern(const struct tail *t, int i, char *out, size_t n)
{
	snprintf(out, n, "%s%s", t->o.root && t->o.rooted[i] ? t->o.root : "", t->o.globs[i]);
}

static void add_dir_watches(struct tail *t)
{
	for (int i = 0; t->o.globs[i]; i++) {
		if (t->dir_wd[i] >= 0)
			continue;
		char p[PATH_MAX];
		full_pattern(t, i, p, sizeof(p));
		char *slash = strrchr(p, '/');
		if (!slash)
			continue;
		*slash = '\0';
		if (strpbrk(p, "*?[")) /* a wildcard directory: the poll finds its files */
			continue;
		t->dir_wd[i] = inotify_add_watch(t->ifd, p[0] ? p : "/", DIR_EVENTS);
	}
}

static struct tail_file *find_file(struct tail *t, dev_t dev, ino_t ino)
{
	for (struct tail_file *f = t->files; f; f = f->next)
		if (f->dev == dev && f->ino == ino)
			return f;
	return NULL;
}

/* Opens new matches; a followed file no longer matched under any name has been rotated away
 * (or deleted): it is drained for a grace period, then closed. */
static void scan(struct tail *t)
{
	uint64_t now = loop_now_ns();
	unsigned waiting = 0;
	t->gen++;
	for (int i = 0; t->o.globs[i]; i++) {
		char p[PATH_MAX];
		full_pattern(t, i, p, sizeof(p));
		glob_t g;
		if (glob(p, 0, NULL, &g))
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++) {
			struct stat st;
			if (stat(g.gl_pathv[k], &st) || !S_ISREG(st.st_mode))
				continue;
			struct tail_file *f = find_file(t, st.st_dev, st.st_ino);
			void *meta = NULL;
			if (!f && t->o.meta && !(meta = t->o.meta(t->arg, g.gl_pathv[k]))) {
				continue; /* not one to follow */
			} else if (!f && t->o.max_files && (unsigned)t->st.files_open >= t->o.max_files) {
				/* each open file may hold max_line bytes: memory is bounded by the count */
				waiting++;
				if (meta)
					t->o.meta_free(t->arg, meta);
			} else if (!f) {
				f = tail_file_open(t, g.gl_pathv[k], t->o.cri[i], &st);
				if (f)
					f->meta = meta;
				else if (meta)
					t->o.meta_free(t->arg, meta);
			} else {
				/* the same inode under a name the glob still matches: keep following it */
				f->rotated = false;
				if (strcmp(f->path, g.gl_pathv[k])) {
					char *np = strdup(g.gl_pathv[k]);
					if (np) {
						size_t rl = t->o.root ? strlen(t->o.root) : 0;
						free(f->path);
						f->path = np;
						f->name = np + rl;
					}
				}
			}
			if (f)
				f->gen = t->gen;
		}
		globfree(&g);
	}
	if (waiting && !t->st.files_waiting)
		log_warn("logs", "logs: %u matching files wait: --logs-max-files %u are followed\n", waiting,
			 t->o.max_files);
	t->st.files_waiting = waiting;
	for (struct tail_file *f = t->files; f; f = f->next) {
		if (f->gen != t->gen && !f->rotated) {
			f->rotated = true;
			f->rotated_ns = now;
			t->st.rotations++;
		}
	}
}

static bool read_all(struct tail *t)
{
	bool more = false;
	t->paused = false;
	for (struct tail_file *f = t->files; f && !t->paused; f = f->next)
		more |= tail_file_read(t, f, TAIL_FILE_BUDGET);
	return more && !t->paused;
}

void tail_kick(struct tail *t)
{
	uint64_t one = 1;
	if (write(t->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

static void on_work(void *arg, uint32_t events)
{
	struct tail *t = arg;
	uint64_t v;
	(void)events;
	if (read(t->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (read_all(t))
		tail_kick(t);
}

static void on_inotify(void *arg, uint32_t events)
{
	struct tail *t = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool rescan = false;
	(void)events;
	for (;;) {
		ssize_t n = read(t->ifd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			rescan |= (ev->mask &
				   (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_Q_OVERFLOW |
				    IN_IGNORED)) != 0;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (rescan)
		scan(t);
	tail_kick(t);
}

static void close_drained(struct tail *t)
{
	uint64_t now = loop_now_ns();
	for (struct tail_file *f = t->files, *next; f; f = next) {
		next = f->next;
		if (!f->rotated || now - f->rotated_ns < TAIL_ROTATE_GRACE_NS)
			continue;
		if (tail_file_read(t, f, TAIL_FILE_BUDGET) || t->paused)
			continue; /* not drained yet */
		tail_file_flush_partial(t, f);
		tail_file_close(t, f);
	}
}

static void on_timer(void *arg)
{
	struct tail *t = arg;
	add_dir_watches(t);
	scan(t);
	close_drained(t);
	tail_kick(t);
}

void tail_poll(struct tail *t)
{
	scan(t);
	while (read_all(t))
		;
	close_drained(t);
}

struct tail *tail_new(struct loop *l, const struct tail_opts *o, tail_line_fn fn, tail_accept_fn ok,
		      void *arg)
{
	struct tail *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->loop = l;
	t->o = *o;
	t->fn = fn;
	t->ok = ok;
	t->arg = arg;
	for (int i = 0; i < 4; i++)
		t->dir_wd[i] = -1;
	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->ifd < 0 || t->efd < 0)
		goto fail;
	if (l &&
	    (!(t->iw = loop_add_fd(l, t->ifd, EPOLLIN, on_inotify, t)) ||
	     !(t->ew = loop_add_fd(l, t->efd, EPOLLIN, on_work, t)) ||
	     !(t->timer = loop_add_timer(l, 1000, 1000, on_timer, t))))
		goto fail;
	add_dir_watches(t);
	scan(t);
	tail_kick(t);
	return t;
fail:
	tail_free(t);
	return NULL;
}

void tail_free(struct tail *t)
{
	if (!t)
		return;
	loop_remove(t->iw);
	loop_remove(t->ew);
	loop_remove(t->timer);
	while (t->files)
		tail_file_close(t, t->files);
	if (t->ifd >= 0)
		close(t->ifd);
	if (t->efd >= 0)
		close(t->efd);
	free(t);
}

int tail_positions(struct tail *t, struct file_pos **out)
{
	int n = 0;
	for (struct tail_file *f = t->files; f; f = f->next)
		n++;
	struct file_pos *p = calloc((size_t)n + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int i = 0;
	for (struct tail_file *f = t->files; f; f = f->next, i++) {
		p[i] = (struct file_pos){
			.dev = f->dev, .ino = f->ino, .off = f->commit_off, .path = strdup(f->name)
		};
		if (!p[i].path) {
			file_pos_free(p, i);
			return -ENOMEM;
		}
	}
	*out = p;
	return n;
}

const struct tail_stats *tail_stats(const struct tail *t)
{
	return &t->st;
}
