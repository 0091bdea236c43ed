#include "datapath.h"

#include "../loop/loop.h"
#include "../pod/pod.h"
#include "probe.h"
#include "trace_cfg.h"

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
#include <unistd.h>

#include "obsbpf.skel.h"

#define TC_HANDLE 0x0b5b
#define TC_PRIO 1
#define RINGBUF_DRAIN_MS 100

struct datapath {
	struct obsbpf_bpf *skel;
	struct bpf_link *sockops_link;
	int cgroup_fd;
	bool msg_attached;
	const struct pod_info *pod;
	struct dp_iface ifaces[DP_MAX_IFACES];
	int nifaces;
	struct ring_buffer *rb;
	struct loop_watch *rb_watch;
	struct loop_watch *rb_timer;
	dp_event_fn event_fn;
	void *event_arg;
	uint64_t events_read;
	unsigned max_routes;
	int ncpus;
	struct bpf_link *recv_link; /* tp_btf/sock_recv_length: in-process propagation */
	bool recv_tp;               /* the kernel has that tracepoint */
};

static bool g_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !g_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

struct datapath *datapath_open(unsigned max_routes, bool verbose)
{
	struct datapath *dp = calloc(1, sizeof(*dp));
	if (!dp)
		return NULL;
	g_verbose = verbose;
	libbpf_set_print(libbpf_print);
	dp->cgroup_fd = -1;
	dp->max_routes = max_routes ? max_routes : 1;
	dp->ncpus = libbpf_num_possible_cpus();
	dp->skel = obsbpf_bpf__open();
	if (!dp->skel) {
		fprintf(stderr, "obsbpf: open BPF object: %s\n", strerror(errno));
		free(dp);
		return NULL;
	}
	bpf_map__set_max_entries(dp->skel->maps.routes, dp->max_routes);
	/* Without the tracepoint (before 6.3) everything else still works: do not load it. */
	dp->recv_tp = probe_sock_recv_length();
	if (!dp->recv_tp)
		bpf_program__set_autoload(dp->skel->progs.obsbpf_recv, false);
	int err = obsbpf_bpf__load(dp->skel);
	if (err) {
		fprintf(stderr, "obsbpf: load BPF programs: %s%s\n", strerror(-err),
			verbose ? "" : " (run with --verbose for the verifier log)");
		obsbpf_bpf__destroy(dp->skel);
		free(dp);
		return NULL;
	}
	return dp;
}

struct tc_ctx {
	struct datapath *dp;
	int err;
};

static int tc_attach_one(struct datapath *dp, struct dp_iface *ifc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO,
		    .prog_fd = bpf_program__fd(dp->skel->progs.obsbpf_tc_ingress));
	int err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	ifc->hook_created = (err == 0);
	err = bpf_tc_attach(&hook, &opts);
	if (err && ifc->hook_created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	return err;
}

/* Runs inside the pod's netns: attach tc ingress to every interface there. */
static int tc_attach_all(void *arg)
{
	struct tc_ctx *c = arg;
	struct datapath *dp = c->dp;
	struct if_nameindex *ifs = if_nameindex();
	if (!ifs)
		return -errno;
	for (struct if_nameindex *i = ifs; i->if_index && dp->nifaces < DP_MAX_IFACES; i++) {
		struct dp_iface *ifc = &dp->ifaces[dp->nifaces];
		memset(ifc, 0, sizeof(*ifc));
		snprintf(ifc->name, sizeof(ifc->name), "%s", i->if_name);
		ifc->ifindex = (int)i->if_index;
		int err = tc_attach_one(dp, ifc);
		if (err) {
			fprintf(stderr, "obsbpf: attach %s: tc ingress on %s: %s\n", dp->pod->name, ifc->name,
				strerror(-err));
			c->err = err;
			break;
		}
		dp->nifaces++;
	}
	if_freenameindex(ifs);
	return c->err;
}

static int tc_detach_all(void *arg)
{
	struct datapath *dp = arg;
	for (int i = 0; i < dp->nifaces; i++) {
		struct dp_iface *ifc = &dp->ifaces[i];
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO);
		bpf_tc_detach(&hook, &opts);
		if (ifc->hook_created) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
	}
	dp->nifaces = 0;
	return 0;
}

int datapath_attach(struct datapath *dp, const struct pod_info *pod, uint32_t pod_id)
{
	struct obsbpf_bpf *s = dp->skel;
	dp->pod = pod;

	__u64 cgid = pod->cgroup_id;
	int err = bpf_map_update_elem(bpf_map__fd(s->maps.pods), &cgid, &pod_id, BPF_ANY);
	if (err) {
		fprintf(stderr, "obsbpf: attach %s: pods map: %s\n", pod->name, strerror(errno));
		return -errno;
	}
	dp->cgroup_fd = open(pod->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dp->cgroup_fd < 0) {
		err = -errno;
		fprintf(stderr, "obsbpf: attach %s: cgroup %s: %s\n", pod->name, pod->cgroup_path, strerror(-err));
		return err;
	}
	err = bpf_prog_attach(bpf_program__fd(s->progs.obsbpf_msg), bpf_map__fd(s->maps.pod_socks),
			      BPF_SK_MSG_VERDICT, 0);
	if (err) {
		err = -errno;
		fprintf(stderr, "obsbpf: attach %s: sk_msg: %s\n", pod->name, strerror(-err));
		return err;
	}
	dp->msg_attached = true;
	dp->sockops_link = bpf_program__attach_cgroup(s->progs.obsbpf_sockops, dp->cgroup_fd);
	if (!dp->sockops_link) {
		err = -errno;
		fprintf(stderr, "obsbpf: attach %s: sockops on cgroup %s: %s\n", pod->name, pod->cgroup_path,
			strerror(-err));
		return err;
	}
	struct tc_ctx c = { dp, 0 };
	err = pod_in_netns(pod, tc_attach_all, &c);
	if (err) {
		if (!c.err)
			fprintf(stderr, "obsbpf: attach %s: enter netns %s: %s\n", pod->name, pod->netns_path,
				strerror(-err));
		return err;
	}
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
	return dp->rb_watch && dp->rb_timer ? 0 : -errno;
}

void datapath_close(struct datapath *dp)
{
	if (!dp)
		return;
	loop_remove(dp->rb_watch);
	loop_remove(dp->rb_timer);
	ring_buffer__free(dp->rb);
	if (dp->nifaces && dp->pod)
		pod_in_netns(dp->pod, tc_detach_all, dp);
	bpf_link__destroy(dp->sockops_link);
	bpf_link__destroy(dp->recv_link);
	if (dp->msg_attached)
		bpf_prog_detach2(bpf_program__fd(dp->skel->progs.obsbpf_msg),
				 bpf_map__fd(dp->skel->maps.pod_socks), BPF_SK_MSG_VERDICT);
	if (dp->cgroup_fd >= 0)
		close(dp->cgroup_fd);
	obsbpf_bpf__destroy(dp->skel);
	free(dp);
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
	if (!dp->recv_tp) {
		fprintf(stderr, "obsbpf: no tracepoint sock_recv_length (kernel < 6.3): requests the pod "
				"sends start new traces instead of continuing the request it serves\n");
		return 0;
	}
	dp->recv_link = bpf_program__attach(dp->skel->progs.obsbpf_recv);
	if (!dp->recv_link) {
		int err = -errno;
		fprintf(stderr, "obsbpf: attach tp_btf/sock_recv_length: %s\n", strerror(-err));
		return err;
	}
	return 0;
map_err:
	fprintf(stderr, "obsbpf: trace configuration map: %s\n", strerror(errno));
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
	return dp && dp->sockops_link && dp->msg_attached && dp->nifaces > 0;
}

int datapath_ifaces(const struct datapath *dp, const struct dp_iface **out)
{
	*out = dp->ifaces;
	return dp->nifaces;
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
