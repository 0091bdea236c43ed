/* SPDX-License-Identifier: GPL-2.0 */
/* Connection bookkeeping shared by the hooks: counters, the per-connection FIFO of requests
 * in flight, and recording a finished exchange (histogram + event). */
#ifndef OBSBPF_CONN_BPF_H
#define OBSBPF_CONN_BPF_H

#include "maps.bpf.h"
#include "verifier.bpf.h"
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
					 const struct obsbpf_trace *t, __u8 http10)
{
	__u32 tail = c->tail;
	if (tail - c->head >= OBSBPF_PENDING) {
		stat_inc(OBSBPF_ST_PENDING_FULL);
		return;
	}
	struct obsbpf_pending *p = &c->q[tail & (OBSBPF_PENDING - 1)];
	p->start_ns = now;
	p->method = method;
	p->http10 = http10;
	p->route_id = route;
	p->tid = 0;
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
_Static_assert(sizeof(((struct obsbpf_conn *)0)->msg_line) == sizeof(struct obsbpf_line),
	       "msg_line is a line");

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
