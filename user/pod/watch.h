/* SPDX-License-Identifier: GPL-2.0 */
/* Daemon mode's view of the node: watches the kubepods cgroup tree (inotify, plus a periodic
 * rescan as a safety net) and reports pods as they become attachable and as they go away. */
#ifndef OBSBPF_POD_WATCH_H
#define OBSBPF_POD_WATCH_H

#include <stdint.h>

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
	const char *namespace_; /* when the selection names none */
	const char *node;
	unsigned rescan_ms;
	podwatch_add_fn add;
	podwatch_gone_fn gone;
	void *arg;
};

/* Scans once (pods already there are reported before this returns), then keeps watching. */
struct podwatch *podwatch_start(struct loop *l, const struct podwatch_opts *o);
void podwatch_stop(struct podwatch *w);

#endif
