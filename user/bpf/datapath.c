#include "datapath.h"

#include "../loop/loop.h"
#include "../pod/pod.h"
#include "../util/array.h"
#include "../util/log.h"
#include "probe.h"
#include "sockpin.h"
#include "trace_cfg.h"
#include "variant.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "obsbpf.skel.h"

#define TC_HANDLE 0x0b5b
#define TC_PRIO 1
#define RINGBUF_DRAIN_MS 100
#define SOCKPIN_REAP_MS 2000 /* how soon an earlier agent's emptied sockhash is freed */
/* Names are truncated to BPF_OBJ_NAME_LEN - 1 in the kernel: "obsbpf_tc_ingress" -> this. */
#define TC_PROG_KNAME "obsbpf_tc_"

#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46 /* Linux 6.6; Debian 12's uapi headers predate it */
#define BPF_TCX_EGRESS 47
#endif

static const enum bpf_tc_attach_point tc_point[DP_TC_NDIRS] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
static const int tcx_type[DP_TC_NDIRS] = { BPF_TCX_INGRESS, BPF_TCX_EGRESS };
static const char *const tc_dir_name[DP_TC_NDIRS] = { "ingress", "egress" };

/* What one attached pod holds: everything datapath_detach_pod releases. */
struct dp_pod {
	uint32_t pod_id;
	uint64_t cgroup_id;
	int cgroup_fd;
	int netns_fd; /* dup of the pod's: tc filters (not tcx links) are removed from inside it */
	struct bpf_link *sockops_link;
	struct dp_iface ifaces[DP_MAX_IFACES];
	int nifaces;
	const char *name; /* for messages, valid during attach only */
};

struct datapath {
	struct obsbpf_bpf *skel;
	bool msg_attached;
	struct dp_pod **pods;
	int npods;
	size_t cap_pods;
	struct ring_buffer *rb;
	struct loop_watch *rb_watch;
	struct loop_watch *rb_timer;
	dp_event_fn event_fn;
	void *event_arg;
	uint64_t events_read;
	unsigned max_routes;
	int ncpus;
	enum dp_tc_hook tc_hook;
	struct bpf_link *recv_link; /* the thread hook: in-process propagation */
	struct bpf_program *recv;   /* tp_btf/sock_recv_length, fexit/tcp_recvmsg, or NULL */
	struct kernel_variant kv;   /* what this kernel got (variant.c) */
	char *pin_dir;              /* sockpin.h: where sockhashes are pinned, or NULL */
	char pin_path[512];         /* this agent's pin ("" when not pinned) */
	long pins_left;             /* sockets in earlier agents' sockhashes still pinned */
	int pins_kept;              /* and how many such sockhashes */
	struct loop_watch *reap_timer;
};


/* sk_msg hangs on the sockhash, not on a pod: attached once, it dies with the map. */
static int attach_msg(struct datapath *dp)
{
	struct obsbpf_bpf *s = dp->skel;
	if (bpf_prog_attach(bpf_program__fd(s->progs.obsbpf_msg), bpf_map__fd(s->maps.pod_socks),
			    BPF_SK_MSG_VERDICT, 0) < 0) {
		int err = -errno;
		log_error("bpf", "attach sk_msg to the sockhash: %s\n", strerror(-err));
		return err;
	}
	dp->msg_attached = true;
	/* Only where the FIONREAD regression is (variant.c): like sk_msg, it dies with the map. */
	if (bpf_program__autoload(s->progs.obsbpf_skb_pass) &&
	    bpf_prog_attach(bpf_program__fd(s->progs.obsbpf_skb_pass), bpf_map__fd(s->maps.pod_socks),
			    BPF_SK_SKB_VERDICT, 0) < 0) {
		int err = -errno;
		log_error("bpf", "attach sk_skb verdict to the sockhash (FIONREAD regression): %s\n",
			strerror(-err));
		return err;
	}
	return 0;
}

struct datapath *datapath_open(unsigned max_routes, bool verbose)
{
	struct datapath *dp = calloc(1, sizeof(*dp));
	if (!dp)
		return NULL;
	(void)verbose; /* libbpf's messages go through the log (main.c): --verbose is its debug level */
	dp->max_routes = max_routes ? max_routes : 1;
	dp->ncpus = libbpf_num_possible_cpus();
	dp->skel = obsbpf_bpf__open();
	if (!dp->skel) {
		log_error("bpf", "open BPF object: %s\n", strerror(errno));
		free(dp);
		return NULL;
	}
	bpf_map__set_max_entries(dp->skel->maps.routes, dp->max_routes);
	variant_apply(dp->skel, &dp->kv);
	const struct kernel_variant kv = dp->kv;
	dp->recv = kv.recv_tp ? dp->skel->progs.obsbpf_recv : kv.recv_fexit ? dp->skel->progs.obsbpf_recv_fexit : NULL;
	int err = obsbpf_bpf__load(dp->skel);
	if (err) {
		log_error("bpf", "load BPF programs: %s%s\n", strerror(-err),
			log_enabled(LOG_WARN) ? " (libbpf says why above)" : "");
		obsbpf_bpf__destroy(dp->skel);
		free(dp);
		return NULL;
	}
	if (attach_msg(dp) < 0) {
		datapath_close(dp);
		return NULL;
	}
	return dp;
}

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
	static const char *const names[] = { [DP_TC_AUTO] = "auto", [DP_TC_TCX] = "tcx", [DP_TC_FILTER] = "filter" };
	for (int i = 0; i < 3; i++)
		if (s && !strcmp(s, names[i])) {
			*out = (enum dp_tc_hook)i;
			return 0;
		}
	return -EINVAL;
}

struct tc_ctx {
	struct datapath *dp;
	struct dp_pod *pod;
	int err;
};

/* Runs inside the pod's netns: attach tc ingress and egress to every interface there. */
static int tc_attach_all(void *arg)
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
static int tc_detach_filters(void *arg)
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

static struct dp_pod *find_pod(const struct datapath *dp, uint32_t pod_id, int *idx)
{
	for (int i = 0; i < dp->npods; i++)
		if (dp->pods[i]->pod_id == pod_id) {
			if (idx)
				*idx = i;
			return dp->pods[i];
		}
	return NULL;
}

/* The pod's histogram series go with it (a later pod never inherits them). Keys are collected
 * first: deleting the key a get_next_key walk stands on restarts the walk. */
static void forget_pod_series(struct datapath *dp, uint32_t pod_id)
{
	int fd = bpf_map__fd(dp->skel->maps.http_hist);
	struct obsbpf_hist_key key, next, *del = NULL;
	size_t n = 0, cap = 0;
	for (int r = bpf_map_get_next_key(fd, NULL, &next); r == 0; r = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (key.pod_id != pod_id)
			continue;
		if (!array_grow((void **)&del, &cap, n + 1, sizeof(*del)))
			break;
		del[n++] = key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &del[i]);
	free(del);
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
		pod_in_netns_fd(p->netns_fd, tc_detach_filters, p);
		close(p->netns_fd);
	}
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	forget_pod_series(dp, p->pod_id);
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
	int err = pod_in_netns_fd(p->netns_fd, tc_attach_all, &c);
	if (err && !c.err)
		log_error("bpf", "attach %s: enter netns %s: %s\n", pod->name, pod->netns_path,
			strerror(-err));
	return err;
}

int datapath_attach_pod(struct datapath *dp, const struct pod_info *pod, uint32_t pod_id)
{
	if (find_pod(dp, pod_id, NULL))
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
	struct dp_pod *p = find_pod(dp, pod_id, &i);
	if (!p)
		return -ENOENT;
	dp->pods[i] = dp->pods[--dp->npods];
	release_pod(dp, p);
	return 0;
}

static int on_ringbuf_event(void *ctx, void *data, size_t size)
{
	struct datapath *dp = ctx;
	if (size < sizeof(struct obsbpf_http_event))
		return 0;
	dp->events_read++;
	if (dp->event_fn)
		dp->event_fn(dp->event_arg, data);
	return 0;
}

static void on_ringbuf_ready(void *arg, uint32_t events)
{
	struct datapath *dp = arg;
	(void)events;
	ring_buffer__consume(dp->rb);
}

static void on_ringbuf_tick(void *arg)
{
	struct datapath *dp = arg;
	ring_buffer__consume(dp->rb);
}

int datapath_pin_socks(struct datapath *dp, const char *dir)
{
	if (!dir || !*dir)
		return 0;
	int err = sockpin_pin(bpf_map__fd(dp->skel->maps.pod_socks), dir, dp->pin_path, sizeof(dp->pin_path));
	if (err) {
		dp->pin_path[0] = '\0';
		log_warn("bpf", "pin the sockhash in %s: %s: a kill -9 of this agent can "
			"drop bytes its pods' connections have received and not yet read (--pin-dir)\n",
			dir, strerror(-err));
		return err;
	}
	if (!(dp->pin_dir = strdup(dir)))
		return -ENOMEM;
	sockpin_reap(dir, NULL);
	return 0;
}

static void on_reap_tick(void *arg)
{
	struct datapath *dp = arg;
	dp->pins_left = sockpin_reap(dp->pin_dir, &dp->pins_kept);
}

int datapath_watch_events(struct datapath *dp, struct loop *l, dp_event_fn fn, void *arg)
{
	dp->event_fn = fn;
	dp->event_arg = arg;
	dp->rb = ring_buffer__new(bpf_map__fd(dp->skel->maps.http_events), on_ringbuf_event, dp, NULL);
	if (!dp->rb)
		return -errno;
	/* The kernel side wakes us only when the ring is filling up (see record_exchange), so
	 * events are also drained on a timer: at most RINGBUF_DRAIN_MS late. */
	dp->rb_watch = loop_add_fd(l, ring_buffer__epoll_fd(dp->rb), EPOLLIN, on_ringbuf_ready, dp);
	dp->rb_timer = loop_add_timer(l, RINGBUF_DRAIN_MS, RINGBUF_DRAIN_MS, on_ringbuf_tick, dp);
	if (dp->pin_dir && !(dp->reap_timer = loop_add_timer(l, SOCKPIN_REAP_MS, SOCKPIN_REAP_MS, on_reap_tick, dp)))
		return -errno;
	return dp->rb_watch && dp->rb_timer ? 0 : -errno;
}

void datapath_close(struct datapath *dp)
{
	if (!dp)
		return;
	loop_remove(dp->rb_watch);
	loop_remove(dp->rb_timer);
	ring_buffer__free(dp->rb);
	while (dp->npods)
		datapath_detach_pod(dp, dp->pods[dp->npods - 1]->pod_id);
	free(dp->pods);
	bpf_link__destroy(dp->recv_link);
	loop_remove(dp->reap_timer);
	long left = 0;
	if (dp->pin_path[0]) {
		left = sockpin_release(bpf_map__fd(dp->skel->maps.pod_socks), dp->pin_path);
		if (left > 0)
			log_warn("bpf", "%ld connection%s still open: their sockhash stays pinned at %s "
				"until they close (freeing it now would drop what they have not read yet); the "
				"next agent frees it then\n", left, left == 1 ? "" : "s", dp->pin_path);
		sockpin_reap(dp->pin_dir, NULL);
	}
	free(dp->pin_dir);
	/* Detaching from a map that stays pinned would change nothing for its sockets. */
	if (dp->msg_attached && left <= 0)
		bpf_prog_detach2(bpf_program__fd(dp->skel->progs.obsbpf_msg),
				 bpf_map__fd(dp->skel->maps.pod_socks), BPF_SK_MSG_VERDICT);
	obsbpf_bpf__destroy(dp->skel);
	free(dp);
}

int datapath_set_events(struct datapath *dp, bool every)
{
	__u32 zero = 0;
	struct obsbpf_events_cfg cfg = { .every = every, .sample_gap_ns = DP_EXEMPLAR_GAP_NS };
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.events_cfg), &zero, &cfg, BPF_ANY) < 0) {
		int err = -errno;
		log_error("bpf", "write map events_cfg: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

int datapath_set_tracing(struct datapath *dp, const struct trace_cfg *tc)
{
	__u32 zero = 0;
	__u8 one = 1;
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.trace_cfg), &zero, &tc->k, BPF_ANY) < 0)
		goto map_err;
	for (unsigned i = 0; i < tc->ncidrs; i++)
		if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.inject_to), &tc->cidrs[i], &one, BPF_ANY) < 0)
			goto map_err;
	if (!tc->k.propagation || dp->recv_link)
		return 0;
	if (!dp->recv) {
		log_error("bpf", "neither tp_btf/sock_recv_length (6.3+) nor fexit on tcp_recvmsg on "
				"this kernel: requests the pod sends start new traces instead of continuing "
				"the request it serves\n");
		return 0;
	}
	dp->recv_link = bpf_program__attach(dp->recv);
	if (!dp->recv_link) {
		int err = -errno;
		log_error("bpf", "attach %s: %s\n", bpf_program__section_name(dp->recv), strerror(-err));
		return err;
	}
	return 0;
map_err:
	log_error("bpf", "trace configuration map: %s\n", strerror(errno));
	return -errno;
}

int datapath_own_socket(struct datapath *dp, int fd, bool own)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	__u16 port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						    : ((struct sockaddr_in *)&ss)->sin_port);
	__u8 one = 1;
	int mfd = bpf_map__fd(dp->skel->maps.agent_ports);
	int err = own ? bpf_map_update_elem(mfd, &port, &one, BPF_ANY) : bpf_map_delete_elem(mfd, &port);
	return err && !(errno == ENOENT && !own) ? -errno : 0;
}

bool datapath_attached(const struct datapath *dp)
{
	return dp && dp->msg_attached;
}

bool datapath_pod_attached(const struct datapath *dp, uint32_t pod_id)
{
	const struct dp_pod *p = dp ? find_pod(dp, pod_id, NULL) : NULL;
	return p && p->sockops_link && p->nifaces > 0;
}

int datapath_pod_ifaces(const struct datapath *dp, uint32_t pod_id, const struct dp_iface **out)
{
	const struct dp_pod *p = find_pod(dp, pod_id, NULL);
	if (!p)
		return -ENOENT;
	*out = p->ifaces;
	return p->nifaces;
}

uint64_t datapath_events_read(const struct datapath *dp)
{
	return dp->events_read;
}

unsigned datapath_max_routes(const struct datapath *dp)
{
	return dp->max_routes;
}

int datapath_read_stats(struct datapath *dp, uint64_t stats[OBSBPF_ST_MAX])
{
	int fd = bpf_map__fd(dp->skel->maps.stats);
	uint64_t *percpu = calloc((size_t)dp->ncpus, sizeof(uint64_t));
	if (!percpu)
		return -ENOMEM;
	for (uint32_t k = 0; k < OBSBPF_ST_MAX; k++) {
		stats[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, percpu) == 0)
			for (int c = 0; c < dp->ncpus; c++)
				stats[k] += percpu[c];
	}
	free(percpu);
	return 0;
}

int datapath_read_hist(struct datapath *dp, struct dp_hist_entry **out)
{
	int fd = bpf_map__fd(dp->skel->maps.http_hist);
	size_t cap = 64, n = 0;
	struct dp_hist_entry *v = malloc(cap * sizeof(*v));
	struct obsbpf_hist_val *percpu = calloc((size_t)dp->ncpus, sizeof(*percpu));
	struct obsbpf_hist_key key, next;
	int err = 0;
	if (!v || !percpu) {
		err = -ENOMEM;
		goto out;
	}
	for (int r = bpf_map_get_next_key(fd, NULL, &next); r == 0;
	     r = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (bpf_map_lookup_elem(fd, &key, percpu))
			continue; /* deleted meanwhile */
		if (n == cap) {
			struct dp_hist_entry *nv = realloc(v, 2 * cap * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				goto out;
			}
			v = nv;
			cap *= 2;
		}
		struct dp_hist_entry *e = &v[n++];
		memset(e, 0, sizeof(*e));
		e->key = key;
		for (int c = 0; c < dp->ncpus; c++) {
			e->val.count += percpu[c].count;
			e->val.sum_ns += percpu[c].sum_ns;
			for (int b = 0; b < OBSBPF_HIST_BUCKETS; b++)
				e->val.buckets[b] += percpu[c].buckets[b];
		}
	}
out:
	free(percpu);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	return (int)n;
}

int datapath_read_routes(struct datapath *dp, struct dp_route **out)
{
	int fd = bpf_map__fd(dp->skel->maps.routes);
	struct dp_route *v = calloc(dp->max_routes + 1, sizeof(*v));
	uint32_t key, next;
	size_t n = 0;
	if (!v)
		return -ENOMEM;
	for (int r = bpf_map_get_next_key(fd, NULL, &next); r == 0 && n < dp->max_routes;
	     r = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		struct obsbpf_route val;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		v[n].id = key;
		memcpy(v[n].path, val.path, sizeof(v[n].path));
		v[n].path[OBSBPF_ROUTE_LEN - 1] = '\0';
		n++;
	}
	*out = v;
	return (int)n;
}

int datapath_programs(const struct datapath *dp, struct dp_prog *out, int max)
{
	struct bpf_program *prog;
	int n = 0;
	bpf_object__for_each_program(prog, dp->skel->obj) {
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(prog);
		if (n == max || fd < 0)
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_program__name(prog));
		out[n].id = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
		out[n].type = bpf_program__type(prog);
		out[n].where[0] = '\0';
		if ((prog == dp->skel->progs.obsbpf_msg || prog == dp->skel->progs.obsbpf_skb_pass) && dp->msg_attached)
			snprintf(out[n].where, sizeof(out[n].where), "sockhash pod_socks");
		else if (prog == dp->recv && dp->recv_link)
			snprintf(out[n].where, sizeof(out[n].where), "%s", bpf_program__section_name(prog));
		n++;
	}
	return n;
}

static long count_keys(const struct bpf_map *m)
{
	int fd = bpf_map__fd(m);
	char key[256], next[256];
	long n = 0;
	if (bpf_map__key_size(m) > sizeof(key))
		return -1;
	for (int r = bpf_map_get_next_key(fd, NULL, next); r == 0; r = bpf_map_get_next_key(fd, key, next)) {
		memcpy(key, next, bpf_map__key_size(m));
		n++;
	}
	return n;
}

/* Bytes written but not yet consumed: the ring's producer and consumer positions live in the
 * first two pages of the map's mmap area (libbpf 1.1 has no ring__avail_data_size). */
static long ringbuf_used(const struct bpf_map *m)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = bpf_map__fd(m);
	void *cons = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	void *prod = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, page);
	long used = -1;
	if (cons != MAP_FAILED && prod != MAP_FAILED)
		used = (long)(__atomic_load_n((unsigned long *)prod, __ATOMIC_ACQUIRE) -
			      __atomic_load_n((unsigned long *)cons, __ATOMIC_ACQUIRE));
	if (cons != MAP_FAILED)
		munmap(cons, (size_t)page);
	if (prod != MAP_FAILED)
		munmap(prod, (size_t)page);
	return used;
}

int datapath_map_usage(const struct datapath *dp, struct dp_map_usage *out, int max)
{
	const struct obsbpf_bpf *s = dp->skel;
	const struct bpf_map *counted[] = { s->maps.pods, s->maps.pod_socks, s->maps.http_hist, s->maps.routes,
					    s->maps.agent_ports };
	int n = 0;
	memset(out, 0, (size_t)max * sizeof(*out));
	for (size_t i = 0; i < sizeof(counted) / sizeof(counted[0]) && n < max; i++, n++) {
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_map__name(counted[i]));
		out[n].used = count_keys(counted[i]);
		out[n].max = bpf_map__max_entries(counted[i]);
	}
	if (n < max) { /* sk_storage cannot be walked from user space */
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_map__name(s->maps.conn_state));
		out[n].used = -1;
		out[n].max = 0;
		n++;
	}
	if (n < max) {
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_map__name(s->maps.http_events));
		out[n].used = ringbuf_used(s->maps.http_events);
		out[n].max = bpf_map__max_entries(s->maps.http_events);
		out[n].bytes = true;
		n++;
	}
	return n;
}

bool datapath_pod_tcx(const struct datapath *dp, uint32_t pod_id)
{
	const struct dp_pod *p = find_pod(dp, pod_id, NULL);
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

int datapath_route(const struct datapath *dp, uint32_t route_id, char *out, size_t n)
{
	struct obsbpf_route val;
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.routes), &route_id, &val) < 0)
		return -errno;
	val.path[OBSBPF_ROUTE_LEN - 1] = '\0';
	snprintf(out, n, "%s", val.path);
	return 0;
}

const struct kernel_variant *datapath_variant(const struct datapath *dp)
{
	return &dp->kv;
}

long datapath_pins_left(const struct datapath *dp, int *maps)
{
	if (maps)
		*maps = dp->pins_kept;
	return dp->pins_left;
}
