// SPDX-License-Identifier: GPL-2.0
#include "watch.h"
#include "util/log.h"

#include "loop/loop.h"
#include "util/array.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <unistd.h>

#define ADD_TRIES 3  /* attach failures before a pod is left alone */
#define SOON_MS	  50 /* an inotify event triggers a scan this much later (coalesces bursts) */

enum pw_state {
	PW_PENDING,
	PW_ATTACHED,
	PW_IGNORED,
	PW_FAILED
};

struct pw_entry {
	char path[4096];
	unsigned long long cgid;
	enum pw_state st;
	uint32_t pod_id;
	int fails;
	bool seen;
};

struct podwatch {
	struct podwatch_opts o;
	int ifd;
	struct loop_watch *iw, *timer;
	struct pw_entry **v;
	int n;
	size_t cap;
};

/* cgroup.events says "populated 0" once the last process of the cgroup (and below) exited. */
static bool populated(const char *dir)
{
	char path[4200], buf[256];
	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return !strstr(buf, "populated 0");
}

static void entry_gone(struct podwatch *w, struct pw_entry *e, const char *why)
{
	if (e->st == PW_ATTACHED) {
		log_info("pod", "pod cgroup %s %s: detaching\n", e->path, why);
		w->o.gone(w->o.arg, e->pod_id);
	}
	e->st = PW_PENDING;
	e->fails = 0;
}

static void try_attach(struct podwatch *w, struct pw_entry *e)
{
	struct pod_info pod;
	const char *ns = w->o.namespace_;
	if (pod_from_cgroup(&pod, e->path, NULL, w->o.node) < 0)
		return; /* no usable process yet: the next scan retries */
	if (!pod_select_match(w->o.select, pod.name, &ns)) {
		e->st = PW_IGNORED;
		pod_release(&pod);
		return;
	}
	snprintf(pod.namespace_, sizeof(pod.namespace_), "%s", ns ? ns : "default");
	int64_t id = w->o.add(w->o.arg, &pod);
	pod_release(&pod);
	if (id >= 0) {
		e->st = PW_ATTACHED;
		e->pod_id = (uint32_t)id;
	} else if (++e->fails >= ADD_TRIES) {
		log_error("pod", "pod %s (cgroup %s): %d attach attempts failed; leaving it alone\n",
			  pod.name, e->path, e->fails);
		e->st = PW_FAILED;
	}
}

static struct pw_entry *entry_for(struct podwatch *w, const char *path, unsigned long long cgid)
{
	for (int i = 0; i < w->n; i++)
		if (!strcmp(w->v[i]->path, path) && w->v[i]->cgid == cgid)
			return w->v[i];
	if (!array_grow((void **)&w->v, &w->cap, (size_t)w->n + 1, sizeof(*w->v)))
		return NULL;
	struct pw_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->cgid = cgid;
	w->v[w->n++] = e;
	return e;
}

static void scan(struct podwatch *w)
{
	struct kubepods_dir *pods = NULL;
	char(*dirs)[4096] = NULL;
	int ndirs = 0;
	int n = kubepods_scan(w->o.cgroup_root, &pods, &dirs, &ndirs);
	if (n < 0)
		return;
	for (int i = 0; i < ndirs; i++)
		inotify_add_watch(w->ifd, dirs[i],
				  IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR);
	for (int i = 0; i < w->n; i++)
		w->v[i]->seen = false;
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (stat(pods[i].path, &st) < 0)
			continue;
		struct pw_entry *e = entry_for(w, pods[i].path, (unsigned long long)st.st_ino);
		if (!e)
			continue;
		e->seen = true;
		/* cgroup.events changes when the pod gets its first process or loses its last. */
		char ev[4200];
		snprintf(ev, sizeof(ev), "%s/cgroup.events", pods[i].path);
		inotify_add_watch(w->ifd, ev, IN_MODIFY);
	}
	for (int i = 0; i < w->n;) {
		struct pw_entry *e = w->v[i];
		if (!e->seen) {
			entry_gone(w, e, "removed");
			w->v[i] = w->v[--w->n];
			free(e);
			continue;
		}
		if (e->st == PW_ATTACHED && !populated(e->path))
			entry_gone(w, e, "has no process left");
		if (e->st == PW_PENDING && populated(e->path))
			try_attach(w, e);
		i++;
	}
	free(pods);
	free(dirs);
}

static void on_timer(void *arg)
{
	scan(arg);
}

static void on_inotify(void *arg, uint32_t events)
{
	struct podwatch *w = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	(void)events;
	while (read(w->ifd, buf, sizeof(buf)) > 0)
		;
	loop_timer_rearm(w->timer, SOON_MS, w->o.rescan_ms);
}

struct podwatch *podwatch_start(struct loop *l, const struct podwatch_opts *o)
{
	struct podwatch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->o = *o;
	if (!w->o.rescan_ms)
		w->o.rescan_ms = 2000;
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0 || !(w->iw = loop_add_fd(l, w->ifd, EPOLLIN, on_inotify, w)) ||
	    !(w->timer = loop_add_timer(l, w->o.rescan_ms, w->o.rescan_ms, on_timer, w))) {
		int e = errno;
		podwatch_stop(w);
		errno = e;
		return NULL;
	}
	scan(w);
	return w;
}

void podwatch_stop(struct podwatch *w)
{
	if (!w)
		return;
	loop_remove(w->iw);
	loop_remove(w->timer);
	if (w->ifd >= 0)
		close(w->ifd);
	for (int i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	free(w);
}
