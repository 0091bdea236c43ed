// SPDX-License-Identifier: GPL-2.0
/* The datapath: loads the BPF object once, attaches sk_msg to the sockhash and pins it, drains
 * the ring buffer into the loop, and closes it all. */
#include "datapath_priv.h"

#include "loop/loop.h"
#include "util/log.h"
#include "probe.h"
#include "sockpin.h"
#include "trace_cfg.h"
#include "variant.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RINGBUF_DRAIN_MS 100
#define SOCKPIN_REAP_MS	 2000 /* how soon an earlier agent's emptied sockhash is freed */

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

struct datapath *datapath_open(unsigned max_routes, unsigned max_conns, unsigned max_graph)
{
	struct datapath *dp = calloc(1, sizeof(*dp));
	if (!dp)
		return NULL;
	dp->max_routes = max_routes ? max_routes : 1;
	dp->ncpus = libbpf_num_possible_cpus();
	dp->skel = obsbpf_bpf__open();
	if (!dp->skel) {
		log_error("bpf", "open BPF object: %s\n", strerror(errno));
		free(dp);
		return NULL;
	}
	bpf_map__set_max_entries(dp->skel->maps.routes, dp->max_routes);
	bpf_map__set_max_entries(dp->skel->maps.pod_socks, max_conns ? max_conns : 1);
	/* 0: no service graph; the map cannot be empty, and is left unused. */
	bpf_map__set_max_entries(dp->skel->maps.graph_hist, max_graph ? max_graph : 1);
	dp->skel->rodata->obsbpf_cfg_graph = max_graph != 0;
	variant_apply(dp->skel, &dp->kv);
	const struct kernel_variant kv = dp->kv;
	dp->recv = kv.recv_tp	? dp->skel->progs.obsbpf_recv
		: kv.recv_fexit ? dp->skel->progs.obsbpf_recv_fexit
				: NULL;
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
	dp_release_open(dp); /* a failure is a warning: connections stay in the sockhash */
	dp_adopt_open(dp);   /* and here: connections opened before attach are not followed */
	return dp;
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

static int on_h2_event(void *ctx, void *data, size_t size)
{
	struct datapath *dp = ctx;
	dp->h2_events_read++;
	if (dp->h2_fn)
		dp->h2_fn(dp->h2_arg, data, size);
	return 0;
}

int datapath_watch_h2(struct datapath *dp, dp_h2_fn fn, void *arg)
{
	if (!dp->rb)
		return -EINVAL;
	dp->h2_fn = fn;
	dp->h2_arg = arg;
	/* The same ring buffer manager: one epoll fd, one drain timer, for both rings. */
	int err = ring_buffer__add(dp->rb, bpf_map__fd(dp->skel->maps.h2_events), on_h2_event, dp);
	return err < 0 ? err : 0;
}

uint64_t datapath_h2_events_read(const struct datapath *dp)
{
	return dp->h2_events_read;
}

/* Release events wake the agent at once: the pass follows the drain. The timer runs the passes
 * again for connections that had to wait. */
static void on_ringbuf_ready(void *arg, uint32_t events)
{
	struct datapath *dp = arg;
	(void)events;
	ring_buffer__consume(dp->rb);
	dp_release_run(dp);
}

static void on_ringbuf_tick(void *arg)
{
	struct datapath *dp = arg;
	ring_buffer__consume(dp->rb);
	dp_release_run(dp);
}

int datapath_pin_socks(struct datapath *dp, const char *dir)
{
	if (!dir || !*dir)
		return 0;
	int err = sockpin_pin(bpf_map__fd(dp->skel->maps.pod_socks), dir, dp->pin_path, sizeof(dp->pin_path));
	if (err) {
		dp->pin_path[0] = '\0';
		log_warn("bpf",
			 "pin the sockhash in %s: %s: a kill -9 of this agent can "
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
	int err = ring_buffer__add(dp->rb, bpf_map__fd(dp->skel->maps.release_events), dp_release_event, dp);
	if (err < 0)
		return err;
	/* The kernel side wakes us only when the ring is filling up (see record_exchange), so
	 * events are also drained on a timer: at most RINGBUF_DRAIN_MS late. */
	dp->rb_watch = loop_add_fd(l, ring_buffer__epoll_fd(dp->rb), EPOLLIN, on_ringbuf_ready, dp);
	dp->rb_timer = loop_add_timer(l, RINGBUF_DRAIN_MS, RINGBUF_DRAIN_MS, on_ringbuf_tick, dp);
	if (dp->pin_dir &&
	    !(dp->reap_timer = loop_add_timer(l, SOCKPIN_REAP_MS, SOCKPIN_REAP_MS, on_reap_tick, dp)))
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
	dp_tls_detach(dp);
	dp_release_close(dp);
	dp_adopt_close(dp);
	loop_remove(dp->reap_timer);
	long left = 0;
	if (dp->pin_path[0]) {
		left = sockpin_release(bpf_map__fd(dp->skel->maps.pod_socks), dp->pin_path);
		if (left > 0)
			log_warn(
				"bpf",
				"%ld connection%s still open: their sockhash stays pinned at %s "
				"until they close (freeing it now would drop what they have not read yet); the "
				"next agent frees it then\n",
				left, left == 1 ? "" : "s", dp->pin_path);
		sockpin_reap(dp->pin_dir, NULL);
		sockpin_tidy(dp->pin_dir);
	}
	free(dp->pin_dir);
	/* Detaching from a map that stays pinned would change nothing for its sockets. */
	if (dp->msg_attached && left <= 0)
		bpf_prog_detach2(bpf_program__fd(dp->skel->progs.obsbpf_msg),
				 bpf_map__fd(dp->skel->maps.pod_socks), BPF_SK_MSG_VERDICT);
	obsbpf_bpf__destroy(dp->skel);
	free(dp);
}

int datapath_set_events(struct datapath *dp, enum obsbpf_events_mode mode)
{
	__u32 zero = 0;
	struct obsbpf_events_cfg cfg = { .every = mode, .sample_gap_ns = DP_EXEMPLAR_GAP_NS };
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
		if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.inject_to), &tc->cidrs[i], &one, BPF_ANY) <
		    0)
			goto map_err;
	if (!tc->k.propagation)
		return 0;
	return dp_attach_recv(dp,
			      "requests the pod sends start new traces instead of continuing the "
			      "request it serves");
map_err:
	log_error("bpf", "trace configuration map: %s\n", strerror(errno));
	return -errno;
}

int dp_attach_recv(struct datapath *dp, const char *why)
{
	if (dp->recv_link)
		return 0;
	if (!dp->recv) {
		log_error(
			"bpf",
			"neither tp_btf/sock_recv_length (6.3+) nor fexit on tcp_recvmsg on this kernel: %s\n",
			why);
		return 0;
	}
	dp->recv_link = bpf_program__attach(dp->recv);
	if (!dp->recv_link) {
		int err = -errno;
		log_error("bpf", "attach %s: %s\n", bpf_program__section_name(dp->recv), strerror(-err));
		return err;
	}
	return 0;
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

uint64_t datapath_events_read(const struct datapath *dp)
{
	return dp->events_read;
}

unsigned datapath_max_routes(const struct datapath *dp)
{
	return dp->max_routes;
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
