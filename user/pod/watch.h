/* SPDX-License-Identifier: GPL-2.0 */
/* Daemon mode's view of the node: watches the kubepods cgroup tree (inotify, plus a periodic
 * rescan as a safety net) and reports pods as they become attachable and as they go away. */
#ifndef OBSBPF_POD_WATCH_H
#define OBSBPF_POD_WATCH_H

#include <stdint.h>

#include "identity.h"
#include "kubepods.h"
#include "pod.h"

struct loop;
struct podwatch;

/* A selected pod has a process in its namespaces: attach it. Returns its pod id (>= 0), or
 * -errno (the watcher retries a few times, then leaves the pod alone until it restarts). */
typedef int64_t (*podwatch_add_fn)(void *arg, const struct pod_info *pod);
/* The pod's cgroup is gone or empty: detach it. */
typedef void (*podwatch_gone_fn)(void *arg, uint32_t pod_id);

struct podwatch_opts {
	const char *cgroup_root; /* cgroup v2 mount */
	const struct pod_select *select;
	const char *node;
	unsigned rescan_ms;
	/* A pod's namespace and name by the uid in its cgroup's name; NULL, or a pod it does not
	 * know: no namespace, and the name is the UTS hostname of the pod's processes. */
	pod_meta_fn identify;
	void *identify_ctx;
	podwatch_add_fn add;
	podwatch_gone_fn gone;
	void *arg;
};

/* What the watcher knows of each pod cgroup, for the status document. */
enum podwatch_state {
	PODWATCH_WAITING,      /* no process in its own network and UTS namespaces (yet): hostNetwork
				* pods stay here */
	PODWATCH_ATTACHED,     /* handed to add */
	PODWATCH_NOT_SELECTED, /* --namespace, --pod-pattern, --pod-list leave it alone */
	PODWATCH_FAILED,       /* add failed a few times: left alone until its cgroup is made anew */
};
struct podwatch_pod {
	const char *cgroup;
	const char *uid;
	const char *namespace_; /* "" when not known */
	const char *name;	/* "" while not known */
	enum podwatch_state state;
	const char *error; /* "" when none */
	uint32_t pod_id;   /* when attached */
};
typedef void (*podwatch_each_fn)(void *arg, const struct podwatch_pod *p);
void podwatch_foreach(const struct podwatch *w, podwatch_each_fn fn, void *arg);
/* "waiting", "attached", "not_selected", "failed" */
const char *podwatch_state_name(enum podwatch_state s);

/* Scans once (pods already there are reported before this returns), then keeps watching. */
struct podwatch *podwatch_start(struct loop *l, const struct podwatch_opts *o);
void podwatch_stop(struct podwatch *w);

#endif
