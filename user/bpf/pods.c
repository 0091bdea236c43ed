// SPDX-License-Identifier: GPL-2.0
/* The pod table: attaching one pod (pods map entry, sockops on its cgroup, tc in its netns)
 * and releasing everything it holds. */
#include "datapath_priv.h"

#include "pod/pod.h"
#include "util/array.h"
#include "util/log.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dp_pod *dp_find_pod(const struct datapath *dp, uint32_t pod_id, int *idx)
{
	for (int i = 0; i < dp->npods; i++)
		if (dp->pods[i]->pod_id == pod_id) {
			if (idx)
				*idx = i;
			return dp->pods[i];
		}
	return NULL;
}

static void release_pod(struct datapath *dp, struct dp_pod *p)
{
	__u64 cgid = p->cgroup_id;
	bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.pods), &cgid);
	bpf_link__destroy(p->sockops_link);
	for (int i = 0; i < p->nifaces; i++)
		for (int d = 0; d < DP_TC_NDIRS; d++)
			if (p->ifaces[i].link_fd[d] >= 0)
				close(p->ifaces[i].link_fd[d]);
	/* When the netns is gone (pod deleted), its interfaces took their filters with them. */
	if (p->netns_fd >= 0) {
		pod_in_netns_fd(p->netns_fd, dp_tc_detach_filters, p);
		close(p->netns_fd);
	}
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	dp_forget_pod_series(dp, p->pod_id);
	free(p);
}

static int attach_pod_parts(struct datapath *dp, struct dp_pod *p, const struct pod_info *pod)
{
	struct obsbpf_bpf *s = dp->skel;
	__u64 cgid = pod->cgroup_id;
	if (bpf_map_update_elem(bpf_map__fd(s->maps.pods), &cgid, &p->pod_id, BPF_ANY) < 0) {
		log_error("bpf", "attach %s: pods map: %s\n", pod->name, strerror(errno));
		return -errno;
	}
	p->cgroup_fd = open(pod->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->cgroup_fd < 0) {
		int err = -errno;
		log_error("bpf", "attach %s: cgroup %s: %s\n", pod->name, pod->cgroup_path, strerror(-err));
		return err;
	}
	p->sockops_link = bpf_program__attach_cgroup(s->progs.obsbpf_sockops, p->cgroup_fd);
	if (!p->sockops_link) {
		int err = -errno;
		log_error("bpf", "attach %s: sockops on cgroup %s: %s\n", pod->name, pod->cgroup_path,
			  strerror(-err));
		return err;
	}
	p->netns_fd = fcntl(pod->netns_fd, F_DUPFD_CLOEXEC, 0);
	if (p->netns_fd < 0)
		return -errno;
	struct tc_ctx c = { dp, p, 0 };
	int err = pod_in_netns_fd(p->netns_fd, dp_tc_attach_all, &c);
	if (err && !c.err)
		log_error("bpf", "attach %s: enter netns %s: %s\n", pod->name, pod->netns_path,
			  strerror(-err));
	return err;
}

int datapath_attach_pod(struct datapath *dp, const struct pod_info *pod, uint32_t pod_id)
{
	if (dp_find_pod(dp, pod_id, NULL))
		return -EEXIST;
	if (!array_grow((void **)&dp->pods, &dp->cap_pods, (size_t)dp->npods + 1, sizeof(*dp->pods)))
		return -ENOMEM;
	struct dp_pod *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pod_id = pod_id;
	p->cgroup_id = pod->cgroup_id;
	p->cgroup_fd = p->netns_fd = -1;
	p->name = pod->name;
	int err = attach_pod_parts(dp, p, pod);
	if (!err)
		dp_adopt_pod(dp, p, pod->name);
	p->name = NULL;
	if (err) {
		release_pod(dp, p);
		return err;
	}
	dp->pods[dp->npods++] = p;
	return 0;
}

int datapath_detach_pod(struct datapath *dp, uint32_t pod_id)
{
	int i;
	struct dp_pod *p = dp_find_pod(dp, pod_id, &i);
	if (!p)
		return -ENOENT;
	dp->pods[i] = dp->pods[--dp->npods];
	release_pod(dp, p);
	return 0;
}

bool datapath_pod_attached(const struct datapath *dp, uint32_t pod_id)
{
	const struct dp_pod *p = dp ? dp_find_pod(dp, pod_id, NULL) : NULL;
	return p && p->sockops_link && p->nifaces > 0;
}

int datapath_pod_ifaces(const struct datapath *dp, uint32_t pod_id, const struct dp_iface **out)
{
	const struct dp_pod *p = dp_find_pod(dp, pod_id, NULL);
	if (!p)
		return -ENOENT;
	*out = p->ifaces;
	return p->nifaces;
}
