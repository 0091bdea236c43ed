/* SPDX-License-Identifier: GPL-2.0 */
/* Finding a pod on this node: its cgroup v2 directory, network namespace and labels. */
#ifndef OBSBPF_POD_H
#define OBSBPF_POD_H

#include <limits.h>
#include <sys/types.h>

struct pod_info {
	char name[254];
	char namespace_[64]; /* "" when not known (daemon: no pod log directory names the pod) */
	char node[254];
	char uid[64];		    /* "" when not known */
	char cgroup_path[PATH_MAX]; /* absolute path under the cgroup v2 mount */
	unsigned long long cgroup_id;
	char netns_path[PATH_MAX];
	int netns_fd; /* open on the pod's netns; -1 when none */
	pid_t pid;    /* one process of the pod, 0 when given by --cgroup/--netns */
};

/* An empty pod_info (no netns fd) with its namespace (default "default") and node (node, else
 * $NODE_NAME, else this host's name). */
void pod_info_init(struct pod_info *p, const char *ns, const char *node);
/* Resolves a pod from a name and/or explicit paths. On failure returns -errno after printing
 * one line naming what is missing (unknown pod, missing cgroup, ...). */
int pod_resolve(struct pod_info *p, const char *name, const char *ns, const char *node, const char *cgroup,
		const char *netns);
void pod_release(struct pod_info *p);

/* Resolves the pod whose cgroup v2 directory is cgroup_path (daemon mode): its name is the UTS
 * hostname of a process in it, its netns that process's. Quiet: -EAGAIN while no process of the
 * pod is usable yet (none, or still in the node's UTS or network namespace), -errno otherwise. */
int pod_from_cgroup(struct pod_info *p, const char *cgroup_path, const char *ns, const char *node);

/* Runs fn(arg) with the calling thread inside the pod's network namespace, then returns to
 * the original one. Sockets created inside stay in the pod's namespace. Returns fn's result,
 * or -errno if the namespace could not be entered. */
int pod_in_netns(const struct pod_info *p, int (*fn)(void *arg), void *arg);
int pod_in_netns_fd(int netns_fd, int (*fn)(void *arg), void *arg);

/* Path of the cgroup v2 mount ("/sys/fs/cgroup" or "/sys/fs/cgroup/unified"), or NULL. */
const char *cgroup2_mount(void);

/* Parses /proc/PID/cgroup content: copies the "0::" path into out. Returns 0 or -ENOENT. */
int parse_proc_cgroup(const char *content, char *out, size_t outlen);

/* Cuts a process's cgroup path after its pod component ("pod<uid>" or "...-pod<uid>.slice"),
 * so that every container of the pod is covered; leaves other paths alone. */
void pod_cgroup_trim(char *path);

#endif
