// SPDX-License-Identifier: GPL-2.0
/* sk_msg on pod_socks: runs in the sending thread for every sendmsg of the pod's client
 * sockets. An outgoing request starts the clock and, when tracing, gets its trace context:
 * continued from a header it carries, from the request the thread serves, or new; the header is
 * inserted after the request line when the request has none. Nothing else in the stream is
 * ever changed. (Server sockets' responses are timed by tc egress.) */
#include "conn.bpf.h"
#include "h2.bpf.h"
#include "head_scan.bpf.h"
#include "tls.bpf.h"
#include "trace.bpf.h"
#include <bpf/bpf_core_read.h>

/* Writes the header lines of one style at `at` of the pulled head. Returns the bytes written,
 * or -1 when they would not fit. A global subprogram, as is obsbpf_inject: each style is
 * verified once, not once for every combination of the styles before it. */
__noinline int obsbpf_put_header(struct sk_msg_md *msg, __u32 at, __u32 style, struct obsbpf_trace *t)
{
	void *data = (void *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;
	__u8 *w = data + (at & OFF_MASK);
	/* Opaque to clang: otherwise it recomputes data + at for the writes, a new packet pointer
	 * whose range the verifier does not know. */
	OPAQUE(w);
	if (!t)
		return -1;
	switch (style) {
	case OBSBPF_PROP_W3C:
		if ((void *)(w + OBSBPF_HDR_TRACEPARENT_LEN) > end)
			return -1;
		obsbpf_fmt_traceparent(w, t);
		return OBSBPF_HDR_TRACEPARENT_LEN;
	case OBSBPF_PROP_B3:
		if ((void *)(w + OBSBPF_HDR_B3_LEN) > end)
			return -1;
		obsbpf_fmt_b3(w, t);
		return OBSBPF_HDR_B3_LEN;
	case OBSBPF_PROP_XTRACE:
		if ((void *)(w + OBSBPF_HDR_XTRACE_LEN + OBSBPF_HDR_XSPAN_LEN + OBSBPF_HDR_XPARENT_LEN) > end)
			return -1;
		obsbpf_fmt_xtrace(w, t);
		return OBSBPF_HDR_XTRACE_LEN + OBSBPF_HDR_XSPAN_LEN;
	case OBSBPF_PROP_XTRACE | 0x100: /* the x-parent-span line, for spans with a parent */
		if ((void *)(w + OBSBPF_HDR_XPARENT_LEN) > end)
			return -1;
		obsbpf_fmt_xparent(w, t);
		return OBSBPF_HDR_XPARENT_LEN;
	}
	return -1;
}

/* Inserts the trace headers of the styles in props after the request line (which ends at
 * at - 1) of a head head_len long. Returns the bytes inserted, or -1 with the message as it was. */
__noinline int obsbpf_inject(struct sk_msg_md *msg, __u32 at, __u32 head_len, __u32 props,
			     struct obsbpf_trace *t)
{
	if (!t || at > HEAD_MAX || head_len > HEAD_MAX)
		return -1;
	__u64 parent;
	__builtin_memcpy(&parent, t->parent_id, 8);
	__u32 styles[4] = { props & OBSBPF_PROP_W3C, props & OBSBPF_PROP_B3, props & OBSBPF_PROP_XTRACE,
			    (props & OBSBPF_PROP_XTRACE) && parent ? OBSBPF_PROP_XTRACE | 0x100 : 0 };
	__u32 len = (styles[0] ? OBSBPF_HDR_TRACEPARENT_LEN : 0) + (styles[1] ? OBSBPF_HDR_B3_LEN : 0) +
		(styles[2] ? OBSBPF_HDR_XTRACE_LEN + OBSBPF_HDR_XSPAN_LEN : 0) +
		(styles[3] ? OBSBPF_HDR_XPARENT_LEN : 0);
	if (!len)
		return -1;
	if (bpf_msg_push_data(msg, at, len, 0))
		return -1;
	/* The push leaves the head in three pieces, which a TCP_NODELAY sender would send as three
	 * segments; pulling the head into one keeps it one segment (and makes it writable here). */
	if (bpf_msg_pull_data(msg, 0, head_len + len, 0))
		goto undo;
	__u32 w = at;
	for (int i = 0; i < 4; i++) {
		if (!styles[i])
			continue;
		int n = obsbpf_put_header(msg, w, styles[i], t);
		if (n < 0)
			goto undo;
		w += (__u32)n;
	}
	return (int)len;
undo:
	bpf_msg_pop_data(msg, at, len, 0);
	return -1;
}

/* The client span's context (t) for a request whose head was scanned (scanned == 0) or not,
 * with the trace headers found in f. Returns the bytes injected. */
static __always_inline __u32 trace_request(struct sk_msg_md *msg, struct obsbpf_conn *c,
					   const struct obsbpf_trace_cfg *cfg, int scanned,
					   const struct head_info *hi, const struct trace_found *f,
					   struct obsbpf_trace *t)
{
	if (found_valid(f)) {
		/* The app (or a proxy forwarding) sent a context: never replaced. */
		continue_trace(t, f);
		stat_inc(OBSBPF_ST_TRACE_CONTINUED);
		return 0;
	}
	if (f->mask & TF_BAD) {
		/* Treated as absent, but a second header next to it would be ambiguous. */
		new_trace(t, cfg);
		stat_inc(OBSBPF_ST_TRACE_INVALID);
		return 0;
	}
	struct obsbpf_trace *served = served_trace();
	if (served && served->origin != OBSBPF_TO_NONE) {
		__builtin_memcpy(t->trace_id, served->trace_id, 16);
		__builtin_memcpy(t->parent_id, served->span_id, 8);
		t->flags = served->flags;
		t->origin = OBSBPF_TO_THREAD;
		new_span_id(t);
		stat_inc(OBSBPF_ST_TRACE_THREAD);
	} else {
		new_trace(t, cfg);
		stat_inc(OBSBPF_ST_TRACE_UNCORRELATED);
	}
	if (!c->may_inject) {
		stat_inc(OBSBPF_ST_TRACE_NOT_ALLOWED);
		return 0;
	}
	if (!insert_wanted(cfg, t))
		return 0;
	if (c->adopted) {
		/* Found established at attach: not yet known to be at a request's start. */
		stat_inc(OBSBPF_ST_TRACE_ADOPTED);
		return 0;
	}
	if (scanned < 0) {
		stat_inc(OBSBPF_ST_TRACE_HEAD_SPLIT);
		return 0;
	}
	int added = obsbpf_inject(msg, hi->first_nl + 1, hi->head_len, cfg->propagation, t);
	if (added < 0) {
		stat_inc(OBSBPF_ST_TRACE_INJECT_FAILED);
		return 0;
	}
	t->injected = 1;
	stat_inc(OBSBPF_ST_TRACE_INJECTED);
	return (__u32)added;
}

/* The method of the request line at the start of line (enum obsbpf_method), -1 when it is
 * not one, -2 when it is too short to tell but could become one ("G" of "GET"). *target: the
 * request target's index. Global: its branches are verified once, not in the program's paths. */
__noinline int obsbpf_msg_method(struct obsbpf_line *line, __u32 n, __u32 *target)
{
	if (!line || !target)
		return -1;
	int m = obsbpf_parse_method(line->b, n, target);
	if (m < 0 && obsbpf_method_prefix(line->b, n))
		return -2;
	return m;
}

/* sk_msg has nothing left to do on this connection: it asks, once, to leave pod_socks. A socket in
 * a sockmap receives through tcp_bpf, whose blocking reads can fail with EAGAIN (docs/kernel.md);
 * out of it the socket is plain TCP again. The agent takes it out with the release iterator
 * (bpf/release.bpf.c) in the pod's netns. With no room in the ring buffer it asks again at the
 * next send. Global: verified once. */
__noinline int obsbpf_msg_release(struct obsbpf_conn *c)
{
	if (!c || c->released != OBSBPF_RELEASE_NO)
		return 0;
	__u8 why = c->release;
	if (why == OBSBPF_REL_NONE)
		why = c->proto == OBSBPF_PROTO_TLS	 ? OBSBPF_REL_TLS
			: c->proto == OBSBPF_PROTO_HTTP2 ? OBSBPF_REL_H2
							 : OBSBPF_REL_OTHER;
	struct obsbpf_release_event *e = bpf_ringbuf_reserve(&release_events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->cookie = c->cookie;
	e->pod_id = c->pod_id;
	e->reason = why;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	c->release = why;
	c->released = OBSBPF_RELEASE_ASKED;
	return 0;
}

/* HTTP/2: sk_msg's only work is the trace fields, so it is done when there is nothing to insert
 * (tracing off), the app sends its own traceparent (never inserted into; user space decodes it
 * from the HEADERS tc reports), or it lost the frames (nothing is inserted after that). */
static __always_inline int h2_tx_done(struct obsbpf_conn *c)
{
	struct obsbpf_trace_cfg *cfg = trace_config();
	return !cfg || !cfg->propagation || !c->h2tx.sync || c->h2tx.app_tp;
}

/* Whether sk_msg still has work on the connection: timing and tracing HTTP/1 requests, or
 * inserting trace fields into HTTP/2 ones. */
static __always_inline int msg_needed(struct obsbpf_conn *c)
{
	if (c->release != OBSBPF_REL_NONE || c->proto == OBSBPF_PROTO_TLS || c->proto == OBSBPF_PROTO_OTHER)
		return 0;
	return c->proto != OBSBPF_PROTO_HTTP2 || !h2_tx_done(c);
}

/* Holds a request sk_msg cannot follow to its end in the FIFO, unrecorded, so that its answer
 * is matched to it and nothing is parsed until then. Returns 0, or -1 when the FIFO is full:
 * then the connection is left alone for good. */
static __always_inline int wait_for_answer(struct obsbpf_conn *c, __u64 now, const struct obsbpf_trace *t)
{
	if (c->tail - c->head >= OBSBPF_PENDING) {
		c->proto = OBSBPF_PROTO_OTHER;
		stat_inc(OBSBPF_ST_PENDING_FULL);
		return -1;
	}
	pending_push(c, now, OBSBPF_M_UNSEEN, OBSBPF_ROUTE_OVERFLOW, t, 0);
	c->msg_wait = 1;
	return 0;
}

/* Where a request must start, something else: nothing on the connection is parsed again (neither
 * at_boundary nor msg_wait is set from here on), so sk_msg has no more use for it. */
static __always_inline void malformed(struct obsbpf_conn *c)
{
	stat_inc(OBSBPF_ST_MALFORMED);
	c->release = OBSBPF_REL_OTHER;
}

/* A send on a client connection. Only a send that provably starts a request is parsed: the
 * connection's first, one that starts exactly where apply_bytes ended a request whose length was
 * known (at_boundary), or the first after every request whose end was not known has been
 * answered (msg_wait). Any other send is the rest of a message and passes untouched. */
static __always_inline void on_request(struct sk_msg_md *msg, struct obsbpf_conn *c, struct obsbpf_line *line,
				       __u32 n, __u32 seq)
{
	/* at_boundary: where the next request starts is known, as a stream offset (write_seq).
	 * Body bytes before it pass; a send in which it lies is split there (apply_bytes), so that
	 * the program runs again exactly where the request starts. A send past it means the count
	 * was lost (the kernel keeps an old verdict after a partial send): nothing is parsed then
	 * until every request is answered. */
	if (c->at_boundary) {
		__s32 d = (__s32)(c->msg_next_seq - seq);
		if (d > 0) {
			if ((__u32)d < msg->size)
				bpf_msg_apply_bytes(msg, (__u32)d);
			return;
		}
		if (d < 0) {
			stat_inc(OBSBPF_ST_MSG_DESYNC);
			c->at_boundary = 0;
			c->msg_wait = 1;
			return;
		}
	}
	if (!c->at_boundary) {
		if (!c->msg_wait || c->head != c->tail)
			return;
		c->msg_wait = 0;
	}
	c->at_boundary = 0;
	__u64 now = bpf_ktime_get_ns();
	struct obsbpf_trace t = {};
	__u32 target = 0;
	int m = obsbpf_msg_method(line, n, &target);
	if (m < 0) {
		/* A first send too short to tell ("G" of "GET"): wait for its answer. */
		if (c->proto == OBSBPF_PROTO_UNKNOWN && m == -2) {
			wait_for_answer(c, now, &t);
			return;
		}
		/* Where a request must start, anything else is not HTTP/1.x: the connection is
		 * classified (first send) or counted malformed, and left alone from here on. */
		if (c->proto == OBSBPF_PROTO_UNKNOWN && h2_is_preface(line->b, n))
			obsbpf_h2_start(c); /* tc follows its frames both ways; sk_msg its requests */
		else if (c->proto == OBSBPF_PROTO_UNKNOWN)
			classify_other(c, line->b, n);
		else
			malformed(c);
		return;
	}
	struct obsbpf_trace_cfg *cfg = trace_config();
	__u32 props = cfg ? cfg->propagation : 0;
	struct msg_head h = {};
	int scanned = obsbpf_scan_head(msg, props, &h);
	struct head_info *hi = &h.hi;
	if (scanned < 0 && !hi->first_nl) {
		/* Not even the request line within the bytes at hand: not provably HTTP. */
		stat_inc(OBSBPF_ST_HEAD_UNSCANNED);
		wait_for_answer(c, now, &t);
		return;
	}
	if (!hi->version_ok) {
		/* "GET key\r\n": a method and a target but no HTTP/1.x version (Redis inline). */
		if (c->proto == OBSBPF_PROTO_UNKNOWN)
			classify_other(c, line->b, n);
		else
			malformed(c);
		return;
	}
	c->proto = OBSBPF_PROTO_HTTP1;
	__u32 route = obsbpf_route_intern(line, n, target, &c->route);
	__u32 added = 0;
	if (props && cfg)
		added = trace_request(msg, c, cfg, scanned, hi, &h.f, &t);
	__u32 tail = c->tail;
	pending_push(c, now, (__u8)m, route, &t, hi->version_ok == 1);
	/* The span's thread: the sender's, here, not whichever task tc sees the answer in. */
	if (c->tail != tail)
		c->q[tail & (OBSBPF_PENDING - 1)].tid = (__u32)bpf_get_current_pid_tgid();
	if (scanned < 0) {
		stat_inc(OBSBPF_ST_HEAD_UNSCANNED);
		c->msg_wait = 1;
		return;
	}
	/* A tunnel (CONNECT) or a protocol switch (Upgrade) may follow the answer; a chunked body
	 * may hold anything. Nothing is parsed until the answer: tc then marks the connection
	 * non-HTTP on a 2xx to CONNECT or a 101. */
	if (hi->content_length == BODY_CHUNKED || hi->upgrade || m == OBSBPF_M_CONNECT) {
		c->msg_wait = 1;
		return;
	}
	/* RFC 9112 6.3: a request with neither Content-Length nor chunked coding has no body. The
	 * next request starts after this one's body: where this send holds it, the verdict is
	 * split there; a body that goes on in later sends is passed by offset (above). A verdict
	 * spanning later sends would not be safe: after a partial send the kernel keeps it for
	 * bytes of the next request. */
	__u64 total = hi->head_len + added + (hi->content_length > 0 ? (__u64)hi->content_length : 0);
	if (total == 0 || total >= 0x7fffffffull) {
		c->msg_wait = 1;
		return;
	}
	if (total < msg->size + added)
		bpf_msg_apply_bytes(msg, (__u32)total);
	c->msg_next_seq = seq + (__u32)total;
	c->at_boundary = 1;
}

SEC("sk_msg")
int obsbpf_msg(struct sk_msg_md *msg)
{
	struct bpf_sock *sk = msg->sk;
	if (!sk)
		return SK_PASS;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, 0);
	/* Only client sockets are in pod_socks (server sockets' responses are tc egress's). */
	if (!c || c->dir != OBSBPF_DIR_CLIENT)
		return SK_PASS;
	if (c->proto == OBSBPF_PROTO_TLS)
		obsbpf_tls_tie(c); /* sent inside SSL_write: its SSL * is this connection */
	if (!msg_needed(c)) {
		obsbpf_msg_release(c);
		return SK_PASS;
	}
	if (c->proto == OBSBPF_PROTO_HTTP2) {
		obsbpf_h2_tx(msg, c);
		goto done;
	}

	void *data = (void *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;
	if (data >= end && msg->size > 0) {
		/* Page-backed sends (splice/sendfile) have no linear data until pulled. */
		__u32 want = msg->size < OBSBPF_LINE_BUF ? msg->size : OBSBPF_LINE_BUF;
		if (bpf_msg_pull_data(msg, 0, want, 0) < 0)
			return SK_PASS;
		data = (void *)(long)msg->data;
		end = (void *)(long)msg->data_end;
	}
	__u64 n = end - data;
	BOUND(n, OBSBPF_LINE_BUF);
	if (n == 0)
		return SK_PASS;
	struct obsbpf_line *line = (struct obsbpf_line *)c->msg_line;
	if (bpf_probe_read_kernel(line->b, n, data) < 0)
		return SK_PASS;
	/* write_seq: the stream offset of this send's first byte (it is not queued yet). */
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	__u32 seq = tp ? BPF_CORE_READ(tp, write_seq) : 0;
	on_request(msg, c, line, (__u32)n, seq);
	/* The stream's first send showed HTTP/2: the requests in it, from this send on. */
	if (c->proto == OBSBPF_PROTO_HTTP2 && !h2_tx_done(c))
		obsbpf_h2_tx(msg, c);
done:
	/* This send may have shown that the connection needs sk_msg no more. */
	if (!msg_needed(c))
		obsbpf_msg_release(c);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
