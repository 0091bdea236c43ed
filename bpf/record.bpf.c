// SPDX-License-Identifier: GPL-2.0
/* Records one completed request/response exchange, whichever program saw it end: the
 * in-kernel histogram, then (when wanted) the event for spans, exemplars and `observe`. */
#include "record.bpf.h"

/* Set before load (--max-graph-peers not 0): server exchanges also count per client address in
 * graph_hist, for the service graph. */
const volatile __u8 obsbpf_cfg_graph = 0;

/* Adds one exchange of duration dur to the series key of map (created at its first exchange).
 * Returns this CPU's value, NULL when the map is full. */
static __always_inline struct obsbpf_hist_val *hist_add(void *map, struct obsbpf_hist_key *key, __u64 dur)
{
	__u32 b = hist_bucket(dur);
	struct obsbpf_hist_val *v = bpf_map_lookup_elem(map, key);
	if (!v) {
		bpf_map_update_elem(map, key, &obsbpf_zero_hist, BPF_NOEXIST);
		v = bpf_map_lookup_elem(map, key);
		if (!v)
			return NULL;
	}
	v->count++;
	v->sum_ns += dur;
	if (b < OBSBPF_HIST_BUCKETS)
		v->buckets[b]++;
	return v;
}

/* The service graph's server side: the exchange again under the client's address. Not
 * inlined: one copy for every caller of obsbpf_record's paths. */
static __noinline void graph_add(__u32 pod_id, __u32 status, const struct obsbpf_addrs *a, __u64 dur)
{
	struct obsbpf_hist_key key = {
		.pod_id = pod_id,
		.status = status >= 500,
		.dir = OBSBPF_DIR_SERVER,
		.family = (__u8)a->family,
	};
	__builtin_memcpy(key.peer, a->remote, sizeof(key.peer));
	if (hist_add(&graph_hist, &key, dur))
		return;
	/* Full: the pod's address-less series keeps the count. */
	key.family = 0;
	__builtin_memset(key.peer, 0, sizeof(key.peer));
	stat_inc(OBSBPF_ST_GRAPH_FULL);
	hist_add(&graph_hist, &key, dur);
}

/* Whether this exchange gets an event (struct obsbpf_events_cfg). An event costs the ring
 * buffer's lock, 120 bytes written here and read by the agent: ~2% of a busy server's
 * throughput when nothing but exemplars would read it. Not inlined: tc is short of stack. */
static __noinline int event_wanted(const struct obsbpf_pending *p, __u64 now, struct obsbpf_hist_val *v)
{
	__u32 zero = 0;
	struct obsbpf_events_cfg *cfg = bpf_map_lookup_elem(&events_cfg, &zero);
	if (!cfg || cfg->every == OBSBPF_EVENTS_EVERY)
		return 1;
	if (!p || !v || p->trace.origin == OBSBPF_TO_NONE)
		return 0;
	if (cfg->every == OBSBPF_EVENTS_SAMPLED) {
		if (p->trace.flags & OBSBPF_TRACE_SAMPLED)
			return 1;
		stat_inc(OBSBPF_ST_EVENTS_UNSAMPLED);
		return 0;
	}
	/* v is this CPU's value of the series. sk_msg may be preempted between the read and the
	 * write: at worst one more event. */
	if (v->last_event_ns && now - v->last_event_ns < cfg->sample_gap_ns)
		return 0;
	v->last_event_ns = now;
	return 1;
}

/* Records one request/response exchange: in-kernel histogram, then the event. A global
 * subprogram: verified once. */
__noinline int obsbpf_record(struct obsbpf_conn *c, struct obsbpf_pending *p, __u64 end_ns, __u32 status,
			     struct obsbpf_addrs *a)
{
	if (!c || !p || !a)
		return 0;
	struct obsbpf_hist_key key = {
		.pod_id = c->pod_id,
		.route_id = p->route_id,
		.status = (__u16)status,
		.method = p->method,
		.dir = c->dir,
		.http10 = p->http10,
	};
	/* Client series carry the server's address and port (server.address, server.port). */
	if (c->dir == OBSBPF_DIR_CLIENT) {
		key.family = (__u8)a->family;
		key.peer_port = a->remote_port;
		__builtin_memcpy(key.peer, a->remote, sizeof(key.peer));
	}
	__u64 dur = end_ns > p->start_ns ? end_ns - p->start_ns : 0;
	if (obsbpf_cfg_graph && c->dir == OBSBPF_DIR_SERVER)
		graph_add(c->pod_id, status, a, dur);
	struct obsbpf_hist_val *v = hist_add(&http_hist, &key, dur);
	if (!v)
		return 0;

	if (!event_wanted(p, end_ns, v))
		return 0;
	struct obsbpf_http_event *e = bpf_ringbuf_reserve(&http_events, sizeof(*e), 0);
	if (!e) {
		stat_inc(OBSBPF_ST_EVENTS_DROPPED);
		return 0;
	}
	e->start_ns = p->start_ns;
	e->end_ns = end_ns;
	e->pod_id = c->pod_id;
	e->route_id = p->route_id;
	e->status = (__u16)status;
	e->method = p->method;
	e->dir = c->dir;
	e->addrs = *a;
	e->trace = p->trace;
	/* The caller knows the thread (bpf_get_current_pid_tgid is not every caller's: sockops
	 * records at a close, in whatever task or softirq that runs). */
	e->tid = p->tid;
	e->http10 = p->http10;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	/* A wakeup per event costs microseconds in this program and a context switch in the
	 * agent; the agent drains on a short timer and is woken only when the ring fills up. */
	__u64 flags = bpf_ringbuf_query(&http_events, BPF_RB_AVAIL_DATA) >= RINGBUF_WAKEUP_BYTES
		? BPF_RB_FORCE_WAKEUP
		: BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
