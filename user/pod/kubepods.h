/* SPDX-License-Identifier: GPL-2.0 */
/* The node's pod cgroups: which cgroup v2 directories are pods (kubelet's cgroupfs and systemd
 * layouts), which are their containers, and which pods the operator selected. Pure functions
 * of names and files, so they are unit-tested without a node. */
#ifndef OBSBPF_KUBEPODS_H
#define OBSBPF_KUBEPODS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* A pod directory: "pod<uid>" (cgroupfs) or "kubepods[-<qos>]-pod<uid>.slice" (systemd, which
 * spells the uid's '-' as '_'). Copies the uid (with '-') into uid. Returns 0 or -ENOENT. */
int kubepods_pod_uid(const char *dirname, char *uid, size_t n);

/* The uid of the pod a cgroup path is in (or is): the first of its components that is a pod
 * directory, e.g. "/kubepods/burstable/pod<uid>/<container>". Returns 0 or -ENOENT. */
int kubepods_path_uid(const char *path, char *uid, size_t n);

/* A container directory below a pod: "cri-containerd-<id>.scope", "crio-<id>.scope",
 * "docker-<id>.scope" or a bare hex id. Returns 0 or -ENOENT (conmon scopes are no container). */
int kubepods_container_id(const char *dirname, char *id, size_t n);

/* A QoS class directory between the root and the pods: "burstable", "besteffort",
 * "kubepods-burstable.slice", "kubepods-besteffort.slice". */
bool kubepods_qos_dir(const char *dirname);

/* Pod directories found under the cgroup v2 mount. */
struct kubepods_dir {
	char path[4096];
	char uid[128];
};

/* The kubepods roots and QoS dirs (what to watch with inotify) and the pod dirs below them.
 * *pods and *dirs are malloc'd (free them). Returns the number of pods or -errno. */
int kubepods_scan(const char *cg2, struct kubepods_dir **pods, char (**dirs)[4096], int *ndirs);

/* Which pods to attach to: --pod-pattern globs and --pod-list entries ("GLOB" or
 * "NAMESPACE/GLOB", both fnmatch patterns; '#' comments), and --namespace. No pattern and no
 * list: every pod (of --namespace, when given). They filter: a pod's namespace is what the node
 * says it is (identity.h), never taken from a pattern. */
#define POD_SELECT_MAX 256
struct pod_select {
	int n;
	bool any; /* no pattern or list given: all pods */
	char glob[POD_SELECT_MAX][256];
	char ns[POD_SELECT_MAX][64]; /* "" when the entry names no namespace */
	char only_ns[64];	     /* --namespace; "" when not given */
};

/* Returns 0, or -errno after printing one line (unreadable list, bad entry, too many). */
int pod_select_init(struct pod_select *s, const struct str_list *patterns, const char *list_file,
		    const char *namespace_);
/* Parses a pod list's content (the file's text). Returns 0 or -EINVAL with *bad_line set. */
int pod_select_parse(struct pod_select *s, const char *text, int *bad_line);
/* Whether the pod named name in namespace ns (NULL or "": not known) is selected. An entry or
 * --namespace that names a namespace never matches a pod whose namespace is not known. */
bool pod_select_match(const struct pod_select *s, const char *ns, const char *name);

#endif
