// SPDX-License-Identifier: GPL-2.0
/* tc ingress and egress on a pod's interfaces: a tcx link where the kernel has it (6.6+), else a
 * classic clsact filter, which outlives a killed agent and is reclaimed by the next one. */
#include "datapath_priv.h"

#include "util/log.h"
#include "probe.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TC_HANDLE 0x0b5b
#define TC_PRIO	  1
/* Names are truncated to BPF_OBJ_NAME_LEN - 1 in the kernel: "obsbpf_tc_ingress" -> this. */
#define TC_PROG_KNAME "obsbpf_tc_"
#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46 /* Linux 6.6; Debian 12's uapi headers predate it */
#define BPF_TCX_EGRESS	47
#endif

static const enum bpf_tc_attach_point tc_point[DP_TC_NDIRS] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
static const int tcx_type[DP_TC_NDIRS] = { BPF_TCX_INGRESS, BPF_TCX_EGRESS };
static const char *const tc_dir_name[DP_TC_NDIRS] = { "ingress", "egress" };

/* The name of the program behind a kernel program id ("" when it is gone). */
static void prog_name_of(uint32_t id, char *out, size_t n)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	out[0] = '\0';
	if (fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		snprintf(out, n, "%s", info.name);
	close(fd);
}

/* libbpf calls whose failure is an expected answer (no qdisc or filter there yet, a qdisc that
 * exists already): the kernel's reason, which libbpf prints as a warning, is not one. */
static libbpf_print_fn_t quiet_begin(void)
{
	return libbpf_set_print(probe_libbpf_silent);
}

static void quiet_end(libbpf_print_fn_t old)
{
	libbpf_set_print(old);
}

/* A killed agent of the bpf_tc_attach kind leaves its filter behind (filters do not die with
 * their process): remove one of ours found at our handle/priority before attaching. */
static void tc_reclaim_stale(struct dp_pod *p, struct dp_iface *ifc, enum dp_tc_dir d)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex, .attach_point = tc_point[d]);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO);
	char name[32];
	libbpf_print_fn_t q = quiet_begin();
	int err = bpf_tc_query(&hook, &opts);
	quiet_end(q);
	if (err < 0)
		return;
	prog_name_of(opts.prog_id, name, sizeof(name));
	if (strncmp(name, TC_PROG_KNAME, strlen(TC_PROG_KNAME)))
		return; /* someone else's filter: not ours to remove */
	opts.prog_id = 0;
	opts.prog_fd = 0;
	opts.flags = 0;
	if (bpf_tc_detach(&hook, &opts) == 0)
		log_info("bpf", "%s: removed a stale obsbpf tc %s filter from %s (left by a killed agent)\n",
			 p->name, tc_dir_name[d], ifc->name);
}

/* tcx (6.6+): a BPF link owned by our fd, so it goes away with the process, even on kill -9.
 * libbpf 1.1 has no bpf_program__attach_tcx; bpf_link_create's generic branch passes target_fd,
 * which shares its union slot with link_create.target_ifindex. */
static int tcx_attach(int prog_fd, int ifindex, enum dp_tc_dir d)
{
	int fd = bpf_link_create(prog_fd, ifindex, tcx_type[d], NULL);
	return fd < 0 ? -errno : fd;
}

static int tc_attach_one(struct datapath *dp, struct dp_pod *p, struct dp_iface *ifc, enum dp_tc_dir d)
{
	int prog_fd = bpf_program__fd(d == DP_TC_INGRESS ? dp->skel->progs.obsbpf_tc_ingress
							 : dp->skel->progs.obsbpf_tc_egress);
	tc_reclaim_stale(p, ifc, d);
	int fd = dp->tc_hook == DP_TC_FILTER ? -EOPNOTSUPP : tcx_attach(prog_fd, ifc->ifindex, d);
	if (fd >= 0) {
		ifc->link_fd[d] = fd;
		return 0;
	}
	if (dp->tc_hook == DP_TC_TCX || (fd != -EINVAL && fd != -EOPNOTSUPP))
		return fd;
	/* No tcx on this kernel: a classic clsact filter, which outlives a killed agent. */
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex, .attach_point = tc_point[d]);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO, .prog_fd = prog_fd);
	libbpf_print_fn_t q = quiet_begin();
	int err = bpf_tc_hook_create(&hook);
	quiet_end(q);
	if (err && err != -EEXIST)
		return err;
	if (err == 0)
		ifc->hook_created = true;
	err = bpf_tc_attach(&hook, &opts);
	if (err == 0)
		ifc->link_fd[d] = DP_TC_FILTER_ATTACHED;
	return err;
}

void datapath_set_tc_hook(struct datapath *dp, enum dp_tc_hook how)
{
	dp->tc_hook = how;
}

int datapath_parse_tc_hook(const char *s, enum dp_tc_hook *out)
{
	static const char *const names[] = {
		[DP_TC_AUTO] = "auto", [DP_TC_TCX] = "tcx", [DP_TC_FILTER] = "filter"
	};
	for (int i = 0; i < 3; i++)
		if (s && !strcmp(s, names[i])) {
			*out = (enum dp_tc_hook)i;
			return 0;
		}
	return -EINVAL;
}

/* Runs inside the pod's netns: attach tc ingress and egress to every interface there. */
int dp_tc_attach_all(void *arg)
{
	struct tc_ctx *c = arg;
	struct dp_pod *p = c->pod;
	struct if_nameindex *ifs = if_nameindex();
	if (!ifs)
		return -errno;
	for (struct if_nameindex *i = ifs; i->if_index && p->nifaces < DP_MAX_IFACES; i++) {
		struct dp_iface *ifc = &p->ifaces[p->nifaces];
		memset(ifc, 0, sizeof(*ifc));
		snprintf(ifc->name, sizeof(ifc->name), "%s", i->if_name);
		ifc->ifindex = (int)i->if_index;
		ifc->link_fd[DP_TC_INGRESS] = ifc->link_fd[DP_TC_EGRESS] = DP_TC_NOTHING;
		/* Counted before attaching: a half-attached interface is detached like the others. */
		p->nifaces++;
		for (int d = 0; d < DP_TC_NDIRS && !c->err; d++) {
			int err = tc_attach_one(c->dp, p, ifc, (enum dp_tc_dir)d);
			if (err) {
				log_error("bpf", "attach %s: tc %s on %s: %s\n", p->name, tc_dir_name[d],
					  ifc->name, strerror(-err));
				c->err = err;
			}
		}
		if (c->err)
			break;
	}
	if_freenameindex(ifs);
	return c->err;
}

/* Inside the pod's netns: remove the classic tc filters (tcx links only need their fd closed). */
int dp_tc_detach_filters(void *arg)
{
	struct dp_pod *p = arg;
	for (int i = 0; i < p->nifaces; i++) {
		struct dp_iface *ifc = &p->ifaces[i];
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex);
		for (int d = 0; d < DP_TC_NDIRS; d++) {
			if (ifc->link_fd[d] != DP_TC_FILTER_ATTACHED)
				continue;
			LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO);
			hook.attach_point = tc_point[d];
			bpf_tc_detach(&hook, &opts);
		}
		if (ifc->hook_created) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
	}
	return 0;
}

bool datapath_pod_tcx(const struct datapath *dp, uint32_t pod_id)
{
	const struct dp_pod *p = dp_find_pod(dp, pod_id, NULL);
	return p && p->nifaces > 0 && p->ifaces[0].link_fd[DP_TC_INGRESS] >= 0;
}

/* tcx exists when the kernel knows the attach type: a link request for an interface that
 * does not exist then fails with ENODEV (older kernels: EINVAL). Nothing gets attached. */
int datapath_probe_tcx(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "obsbpf_probe", "GPL", insns, 2, NULL);
	if (prog < 0)
		return 0;
	int fd = bpf_link_create(prog, 0x7fffffff, BPF_TCX_INGRESS, NULL);
	int err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	close(prog);
	return fd >= 0 || err == ENODEV;
}
