/* SPDX-License-Identifier: GPL-2.0 */
/* Who a pod is, from what the node itself keeps, without the API server:
 * - the kubelet's pod log directories, /var/log/pods/<namespace>_<name>_<uid>, give every pod's
 *   namespace and name by its uid, which the pod's cgroup carries (kubepods.h);
 * - the container log links, /var/log/containers/<pod>_<namespace>_<container>-<id>.log, give
 *   each container's name by its id, which the container's cgroup carries.
 *
 * What only the API server knows is not here: labels, annotations, the owner workload
 * (Deployment, StatefulSet, Job...). The seam for it is pod_meta_fn: the daemon asks one such
 * function for a pod's identity by uid; a source that asks the API server (a watch on the
 * node's pods, spec.nodeName=NODE) would be another, tried after the node's, filling fields
 * added to struct pod_meta for what it knows. docs/design.md#workload-identity. */
#ifndef OBSBPF_POD_IDENTITY_H
#define OBSBPF_POD_IDENTITY_H

#include <stddef.h>

struct pod_meta {
	char uid[64];
	char namespace_[64];
	char name[254];
};

/* Looks up a pod's identity by uid: 0 with out filled, -ENOENT when the source does not know
 * the pod, another -errno when it cannot tell. */
typedef int (*pod_meta_fn)(void *ctx, const char *uid, struct pod_meta *out);

/* A pod log directory's name, "<namespace>_<name>_<uid>": namespaces (DNS labels) and pod names
 * (DNS subdomains) hold no '_', so the first and last '_' split it. 0 or -EINVAL. */
int pod_logdir_parse(const char *dirname, struct pod_meta *out);

/* The node's source (a pod_meta_fn, ctx: the pod logs directory, e.g. "/var/log/pods"): the
 * directory whose name ends in "_<uid>". -ENOENT when there is none (or no directory). */
int pod_meta_from_logs(void *logs_dir, const char *uid, struct pod_meta *out);

/* A container log link's name, "<pod>_<namespace>_<container>-<id>.log". 0 or -EINVAL. */
struct container_link {
	char pod[254];
	char namespace_[64];
	char container[64];
	char id[128];
};
int container_link_parse(const char *fname, struct container_link *out);

/* One container of a pod: its id (from its cgroup directory) and, where the node shows it, its
 * name ("" when no link names it). */
struct pod_container {
	char id[128];
	char name[64];
};

/* The containers below a pod's cgroup directory, named from the links in links_dir (NULL or
 * "": ids only). Returns how many (at most max), or -errno. */
int pod_containers(const char *cgroup_path, const char *links_dir, struct pod_container *out, int max);

#endif
