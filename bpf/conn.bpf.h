/* Connection bookkeeping shared by the hooks: counters, the per-connection FIFO of requests
 * in flight, and recording a finished exchange (histogram + event). */
#ifndef OBSBPF_CONN_BPF_H
#define OBSBPF_CONN_BPF_H

#include "maps.bpf.h"
#include <obsbpf/http_parse.h>

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);
	if (v)
		*v += 1;
}

/* The FIFO is single-producer (the hook that sees requests) and single-consumer (the hook
 * that sees responses), so head and tail each have one writer. */
static __always_inline void pending_push(struct obsbpf_conn *c, __u64 now, __u8 method, __u32 route,
					 const struct obsbpf_trace *t)
{
	__u32 tail = c->tail;
	if (tail - c->head >= OBSBPF_PENDING) {
		stat_inc(OBSBPF_ST_PENDING_FULL);
		return;
	}
	struct obsbpf_pending *p = &c->q[tail & (OBSBPF_PENDING - 1)];
	p->start_ns = now;
	p->method = method;
	p->route_id = route;
	p->trace = *t;
	c->tail = tail + 1;
}

static __always_inline int pending_pop(struct obsbpf_conn *c, struct obsbpf_pending *out)
{
	__u32 head = c->head;
	if (head == c->tail)
		return -1;
	*out = c->q[head & (OBSBPF_PENDING - 1)];
	c->head = head + 1;
	return 0;
}

/* A copy of a message's first bytes, as a sized type so global subprograms can take it. */
struct obsbpf_line {
	__u8 b[OBSBPF_LINE_BUF];
};

/* Interns the route of a request: its route id, or the overflow id once the route table is
 * full. A global subprogram (bpf/route.bpf.c): verified once, not at every call site, which
 * keeps the path loop from multiplying the callers' verifier states. */
extern __u32 obsbpf_route_intern(struct obsbpf_line *line, __u32 len, __u32 target,
				 struct obsbpf_route_cache *rc);

#define RINGBUF_WAKEUP_BYTES (256 * 1024)

static const __u64 hist_bounds[OBSBPF_HIST_NBOUNDS] = { OBSBPF_HIST_BOUNDS };
/* A new histogram's initial value: in .rodata, not on the stack (152 bytes of the 512). */
const struct obsbpf_hist_val obsbpf_zero_hist __weak = {};

static __always_inline __u32 hist_bucket(__u64 ns)
{
	__u32 i;
	for (i = 0; i < OBSBPF_HIST_NBOUNDS; i++)
		if (ns <= hist_bounds[i])
			break;
	return i;
}

/* Whether this exchange gets an event (struct obsbpf_events_cfg). An event costs the ring
 * buffer's lock, 120 bytes written here and read by the agent: ~2% of a busy server's
 * throughput when nothing but exemplars would read it. Not inlined: tc is short of stack. */
static __noinline int event_wanted(const struct obsbpf_pending *p, __u64 now, struct obsbpf_hist_val *v)
{
	__u32 zero = 0;
	struct obsbpf_events_cfg *cfg = bpf_map_lookup_elem(&events_cfg, &zero);
	if (!cfg || cfg->every)
		return 1;
	if (!p || !v || p->trace.origin == OBSBPF_TO_NONE)
		return 0;
	/* v is this CPU's value of the series. sk_msg may be preempted between the read and the
	 * write: at worst one more event. */
	if (v->last_event_ns && now - v->last_event_ns < cfg->sample_gap_ns)
		return 0;
	v->last_event_ns = now;
	return 1;
}

/* Records one request/response exchange: in-kernel histogram, then the event. */
static __always_inline void record_exchange(const struct obsbpf_conn *c, const struct obsbpf_pending *p,
					    __u64 end_ns, __u16 status, const struct obsbpf_addrs *a)
{
	struct obsbpf_hist_key key = {
		.pod_id = c->pod_id,
		.route_id = p->route_id,
		.status = status,
		.method = p->method,
		.dir = c->dir,
	};
	__u64 dur = end_ns > p->start_ns ? end_ns - p->start_ns : 0;
	__u32 b = hist_bucket(dur);

	struct obsbpf_hist_val *v = bpf_map_lookup_elem(&http_hist, &key);
	if (!v) {
		bpf_map_update_elem(&http_hist, &key, &obsbpf_zero_hist, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&http_hist, &key);
		if (!v)
			return;
	}
	v->count++;
	v->sum_ns += dur;
	if (b < OBSBPF_HIST_BUCKETS)
		v->buckets[b]++;

	if (!event_wanted(p, end_ns, v))
		return;
	struct obsbpf_http_event *e = bpf_ringbuf_reserve(&http_events, sizeof(*e), 0);
	if (!e) {
		stat_inc(OBSBPF_ST_EVENTS_DROPPED);
		return;
	}
	e->start_ns = p->start_ns;
	e->end_ns = end_ns;
	e->pod_id = c->pod_id;
	e->route_id = p->route_id;
	e->status = status;
	e->method = p->method;
	e->dir = c->dir;
	e->addrs = *a;
	e->trace = p->trace;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->pad = 0;
	/* A wakeup per event costs microseconds in this program and a context switch in the
	 * agent; the agent drains on a short timer and is woken only when the ring fills up. */
	__u64 flags = bpf_ringbuf_query(&http_events, BPF_RB_AVAIL_DATA) >= RINGBUF_WAKEUP_BYTES
		? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

/* Classifies a connection from the first payload that is not HTTP. */
static __always_inline void classify_other(struct obsbpf_conn *c, const __u8 *b, __u32 len)
{
	if (c->proto != OBSBPF_PROTO_UNKNOWN)
		return;
	if (obsbpf_looks_like_tls(b, len)) {
		c->proto = OBSBPF_PROTO_TLS;
		stat_inc(OBSBPF_ST_CONN_TLS);
	} else {
		c->proto = OBSBPF_PROTO_OTHER;
		stat_inc(OBSBPF_ST_CONN_OTHER);
	}
}

#endif
