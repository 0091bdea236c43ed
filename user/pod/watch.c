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

struct pw_entry {
	char path[4096];
	unsigned long long cgid;
	enum podwatch_state st;
	uint32_t pod_id;
	int fails;
	bool seen;
	char uid[64];
	bool identified; /* meta holds what identify said */
	struct pod_meta meta;
	char name[254]; /* meta's, else the UTS hostname once a process showed it */
	char error[200];
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
	if (e->st == PODWATCH_ATTACHED) {
		log_info("pod", "pod cgroup %s %s: detaching\n", e->path, why);
		w->o.gone(w->o.arg, e->pod_id);
	}
	e->st = PODWATCH_WAITING;
	e->fails = 0;
}

/* The pod's namespace and name from the node (the kubelet makes its log directory before its
 * first container, so this normally succeeds at once; asked again while it does not). */
static void identify(struct podwatch *w, struct pw_entry *e, const char *uid)
{
	if (e->identified || !w->o.identify)
		return;
	e->identified = w->o.identify(w->o.identify_ctx, uid, &e->meta) == 0;
	if (e->identified)
		snprintf(e->name, sizeof(e->name), "%s", e->meta.name);
}

static bool selected(struct podwatch *w, struct pw_entry *e)
{
	if (pod_select_match(w->o.select, e->identified ? e->meta.namespace_ : NULL, e->name))
		return true;
	e->st = PODWATCH_NOT_SELECTED;
	return false;
}

static void try_attach(struct podwatch *w, struct pw_entry *e, const char *uid)
{
	struct pod_info pod;
	identify(w, e, uid);
	/* A pod the node names is judged before any of its processes is looked at. */
	if (e->identified && !selected(w, e))
		return;
	if (pod_from_cgroup(&pod, e->path, NULL, w->o.node) < 0) {
		snprintf(e->error, sizeof(e->error),
			 "no process in its own network and UTS namespaces (yet; hostNetwork pods stay so)");
		return; /* no usable process yet: the next scan retries */
	}
	if (!e->identified)
		snprintf(e->name, sizeof(e->name), "%s", pod.name);
	if (!e->identified && !selected(w, e)) {
		pod_release(&pod);
		return;
	}
	snprintf(pod.name, sizeof(pod.name), "%s", e->name);
	snprintf(pod.namespace_, sizeof(pod.namespace_), "%s", e->identified ? e->meta.namespace_ : "");
	snprintf(pod.uid, sizeof(pod.uid), "%s", uid);
	e->error[0] = '\0';
	int64_t id = w->o.add(w->o.arg, &pod);
	pod_release(&pod);
	if (id >= 0) {
		e->st = PODWATCH_ATTACHED;
		e->pod_id = (uint32_t)id;
		return;
	}
	snprintf(e->error, sizeof(e->error), "attach: %s", strerror((int)-id));
	if (++e->fails >= ADD_TRIES) {
		log_error("pod", "pod %s (cgroup %s): %d attach attempts failed; leaving it alone\n",
			  pod.name, e->path, e->fails);
		e->st = PODWATCH_FAILED;
	}
}

static struct pw_entry *entry_for(struct podwatch *w, const char *path, const char *uid,
				  unsigned long long cgid)
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
	snprintf(e->uid, sizeof(e->uid), "%.63s", uid);
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
		struct pw_entry *e = entry_for(w, pods[i].path, pods[i].uid, (unsigned long long)st.st_ino);
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
		if (e->st == PODWATCH_ATTACHED && !populated(e->path))
			entry_gone(w, e, "has no process left");
		if (e->st == PODWATCH_WAITING && populated(e->path))
			try_attach(w, e, e->uid);
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

const char *podwatch_state_name(enum podwatch_state s)
{
	static const char *const names[] = { [PODWATCH_WAITING] = "waiting",
					     [PODWATCH_ATTACHED] = "attached",
					     [PODWATCH_NOT_SELECTED] = "not_selected",
					     [PODWATCH_FAILED] = "failed" };
	return s <= PODWATCH_FAILED ? names[s] : "?";
}

void podwatch_foreach(const struct podwatch *w, podwatch_each_fn fn, void *arg)
{
	for (int i = 0; w && i < w->n; i++) {
		const struct pw_entry *e = w->v[i];
		struct podwatch_pod p = {
			.cgroup = e->path,
			.uid = e->uid,
			.namespace_ = e->identified ? e->meta.namespace_ : "",
			.name = e->name,
			.state = e->st,
			.error = e->st == PODWATCH_ATTACHED || e->st == PODWATCH_NOT_SELECTED ? "" : e->error,
			.pod_id = e->pod_id,
		};
		fn(arg, &p);
	}
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
