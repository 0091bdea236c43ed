// SPDX-License-Identifier: GPL-2.0
/* Reading one followed file: lines, over-long lines, copytruncate, offsets. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tail_int.h"

/* CRI file names are <pod>_<namespace>_<container>-<container id>.log */
static void cri_container(const char *path, char *out, size_t n)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	const char *u1 = strchr(b, '_'), *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
	const char *dash = u2 ? strrchr(u2 + 1, '-') : NULL;
	out[0] = '\0';
	if (u2 && dash && (size_t)(dash - u2 - 1) < n)
		snprintf(out, n, "%.*s", (int)(dash - u2 - 1), u2 + 1);
}

struct tail_file *tail_file_open(struct tail *t, const char *path, bool cri, const struct stat *st0)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	struct tail_file *f = calloc(1, sizeof(*f));
	if (!f || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_dev != st0->st_dev ||
	    st.st_ino != st0->st_ino || !(f->path = strdup(path)) || !(f->buf = malloc(t->o.max_line + 1))) {
		if (f) {
			free(f->path);
			free(f);
		}
		close(fd);
		return NULL;
	}
	size_t rl = t->o.root ? strlen(t->o.root) : 0;
	f->name = f->path + (rl && !strncmp(path, t->o.root, rl) ? rl : 0);
	f->fd = fd;
	f->cri = cri;
	if (cri)
		cri_container(path, f->container, sizeof(f->container));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	sb_init(&f->cri_partial);
	int64_t off = t->o.start ? checkpoint_find(t->o.start, f->dev, f->ino) : -1;
	if (off > 0 && off <= st.st_size && lseek(fd, off, SEEK_SET) == off)
		f->commit_off = f->read_off = (uint64_t)off;
	/* watching the file itself catches writes behind a symlink (CRI logs live in /var/log/pods) */
	f->wd = inotify_add_watch(t->ifd, path, IN_MODIFY);
	f->next = t->files;
	t->files = f;
	t->st.files_open++;
	t->st.files_opened++;
	return f;
}

void tail_file_close(struct tail *t, struct tail_file *f)
{
	for (struct tail_file **pp = &t->files; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	/* an inode has one watch per inotify instance: drop it only if no other open file shares it */
	if (f->wd >= 0) {
		bool shared = false;
		for (struct tail_file *o = t->files; o; o = o->next)
			shared |= o->wd == f->wd;
		if (!shared)
			inotify_rm_watch(t->ifd, f->wd);
	}
	close(f->fd);
	if (f->meta)
		t->o.meta_free(t->arg, f->meta);
	sb_free(&f->cri_partial);
	free(f->buf);
	free(f->path);
	free(f);
	t->st.files_open--;
}

static void emit(struct tail *t, struct tail_file *f, const char *line, size_t len, uint64_t end_off,
		 bool truncated)
{
	if (len && line[len - 1] == '\r')
		len--;
	t->st.lines++;
	if (t->fn(t->arg, f, line, len, truncated))
		f->commit_off = end_off;
}

/* Splits the buffered bytes into lines; keeps an unfinished one at the front. */
static void split_lines(struct tail *t, struct tail_file *f)
{
	uint64_t base = f->read_off - f->len;
	size_t start = 0;
	char *nl;
	while ((nl = memchr(f->buf + start, '\n', f->len - start))) {
		size_t end = (size_t)(nl - f->buf);
		if (f->skipping) {
			f->skipping = false;
			if (!f->cri_partial.len)
				f->commit_off = base + end + 1;
		} else {
			emit(t, f, f->buf + start, end - start, base + end + 1, false);
		}
		start = end + 1;
	}
	if (start) {
		memmove(f->buf, f->buf + start, f->len - start);
		f->len -= start;
	}
	if (f->len > t->o.max_line) {
		/* no newline within max_line bytes: forward the head, drop the rest of the line */
		if (!f->skipping) {
			t->st.long_lines++;
			emit(t, f, f->buf, t->o.max_line, f->commit_off, true);
			f->skipping = true;
		}
		f->len = 0;
	}
}

static void check_truncated(struct tail *t, struct tail_file *f)
{
	struct stat st;
	if (fstat(f->fd, &st) || (uint64_t)st.st_size >= f->read_off)
		return;
	/* copytruncate: the file was copied elsewhere and cut to 0; what follows is new */
	t->st.truncations++;
	f->len = 0;
	f->skipping = false;
	f->read_off = f->commit_off = 0;
	sb_reset(&f->cri_partial);
	f->cri_truncated = false;
	lseek(f->fd, 0, SEEK_SET);
}

bool tail_file_read(struct tail *t, struct tail_file *f, size_t budget)
{
	check_truncated(t, f);
	size_t total = 0;
	while (total < budget) {
		if (t->ok && !t->ok(t->arg)) {
			t->paused = true;
			return false;
		}
		ssize_t n = read(f->fd, f->buf + f->len, t->o.max_line + 1 - f->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		f->len += (size_t)n;
		f->read_off += (uint64_t)n;
		total += (size_t)n;
		t->st.bytes += (uint64_t)n;
		split_lines(t, f);
	}
	return true;
}

void tail_file_flush_partial(struct tail *t, struct tail_file *f)
{
	if (f->len && !f->skipping)
		emit(t, f, f->buf, f->len, f->read_off, false);
	f->len = 0;
}
