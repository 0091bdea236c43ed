// SPDX-License-Identifier: GPL-2.0
/* tc on the pod's interfaces. Ingress sees what arrives for the pod: on server sockets a request
 * arriving starts the clock, on client sockets the first byte of the response stops it; the
 * receiving socket is found with a socket lookup (on veth skb->sk is the sender's, on lo none).
 * Egress sees the server sockets' responses leave (skb->sk is the sending socket) and stops
 * their clock. Server sockets are not in the sockhash: sk_msg and its send path (which copies
 * every send) cost the pods that only serve ~8% of their throughput; tc reads in place. */
#include "h2.bpf.h"
#include "record.bpf.h"
#include "tc_head.bpf.h"
#include "tc_pkt.bpf.h"

/* Set before load where tc may call bpf_get_current_pid_tgid (not on 6.1): the thread id of
 * the response's sender in server spans. */
const volatile __u32 obsbpf_cfg_tc_tid = 1;

/* The server span's context for a request whose head was scanned: continued from its trace
 * header, or a new trace. */
static __always_inline void trace_incoming(const struct obsbpf_trace_cfg *cfg, const struct trace_found *f,
					   struct obsbpf_trace *t)
{
	if (found_valid(f)) {
		continue_trace(t, f);
		stat_inc(OBSBPF_ST_TRACE_CONTINUED);
		return;
	}
	if (f->mask & TF_BAD)
		stat_inc(OBSBPF_ST_TRACE_INVALID);
	new_trace(t, cfg);
}

/* A request arriving on a server connection. Returns 1 when no message follows in this
 * segment. A global subprogram, like each stage below: verified once, whatever led to it. */
__noinline int obsbpf_tc_request(struct obsbpf_conn *c, struct tc_buf *buf, __u32 i)
{
	if (!c || !buf)
		return 1;
	__u32 target = 0;
	__u32 ln = buf->n < OBSBPF_LINE_BUF ? buf->n : OBSBPF_LINE_BUF;
	int m = obsbpf_parse_method(buf->line.b, ln, &target);
	if (m < 0) {
		/* Only the stream's first bytes say what protocol it is: a later segment of a TLS or
		 * binary stream may start with any byte. */
		if (i == 0 && c->head == c->tail && buf->k.seq == c->rx_first_seq) {
			if (c->proto == OBSBPF_PROTO_UNKNOWN && h2_is_preface(buf->line.b, ln))
				obsbpf_h2_start(c);
			else
				classify_other(c, buf->line.b, ln);
		}
		return 1;
	}
	if (i == 0 && seen_before(c, buf->k.seq, 0))
		return 1;
	c->proto = OBSBPF_PROTO_HTTP1;
	__u64 now = bpf_ktime_get_ns();
	struct obsbpf_trace_cfg *cfg = trace_config();
	__u32 props = cfg ? cfg->propagation : 0;
	tc_head_scan(buf, props);
	struct obsbpf_trace *t = &buf->t;
	__builtin_memset(t, 0, sizeof(*t));
	if (props && cfg)
		trace_incoming(cfg, &buf->fd.f, t);
	pending_push(c, now, (__u8)m, obsbpf_route_intern(&buf->line, ln, target, &c->route), t,
		     tc_head_http10(buf));
	/* RFC 9112 6.3: no Content-Length and not chunked: no body. Where the body ends, the next
	 * request starts: segments before it are body, whatever their first bytes look like. */
	__s64 body = buf->fd.h.body == BODY_UNKNOWN ? 0 : buf->fd.h.body;
	__u32 head_end = buf->fd.h.head_end;
	c->rx_next_valid = 0;
	if (buf->fd.h.body == BODY_CHUNKED)
		c->in_chunked = 1;
	else if (head_end && body <= 0x7fffffff) {
		c->rx_next_seq = buf->k.seq + buf->off + head_end + (__u32)body;
		c->rx_next_valid = 1;
	}
	__u32 next = next_message(buf, body);
	if (!next)
		return 1;
	buf->off = next;
	return 0;
}

/* A response: arriving on a client connection, or leaving a server one. Returns 1 when no
 * message follows in this segment. */
__noinline int obsbpf_tc_response(struct __sk_buff *skb, struct obsbpf_conn *c, struct tc_buf *buf, __u32 i)
{
	if (!c || !buf)
		return 1;
	__u32 ln = buf->n < OBSBPF_LINE_BUF ? buf->n : OBSBPF_LINE_BUF;
	int status = obsbpf_parse_status(buf->line.b, ln);
	__u32 egress = buf->egress;
	if (status < 0) {
		/* A server that speaks first with nothing asked is not HTTP (TLS answers a hello the
		 * ingress side does not parse). Client connections are classified by sk_msg. */
		if (i == 0 && c->head == c->tail && c->proto == OBSBPF_PROTO_UNKNOWN) {
			/* An HTTP/2 server with prior knowledge speaks first: its SETTINGS. */
			__u32 first = egress ? c->tx_first_seq : c->rx_first_seq;
			if (buf->k.seq == first && h2_is_server_settings(buf->line.b, ln))
				obsbpf_h2_start(c);
			else if (egress)
				classify_other(c, buf->line.b, ln);
		}
		return 1;
	}
	if (i == 0 && seen_before(c, buf->k.seq, egress))
		return 1;
	struct obsbpf_pending *p = &buf->p;
	__builtin_memset(p, 0, sizeof(*p));
	__u8 interim = status < 200 && status != 101;
	if (!interim) {
		if (pending_pop(c, p) < 0) {
			stat_inc(OBSBPF_ST_RESP_UNMATCHED);
			return 1;
		}
		/* A request parsed on a connection adopted at attach was answered: its sends are
		 * followed from a request's start now, headers may be inserted. */
		c->adopted = 0;
		/* Server spans: the task tc egress runs in is the response's sender. */
		if (egress && obsbpf_cfg_tc_tid)
			p->tid = (__u32)bpf_get_current_pid_tgid();
		if (p->method != OBSBPF_M_UNSEEN)
			obsbpf_record(c, p, bpf_ktime_get_ns(), (__u32)status, &buf->k.a);
		/* After 101 Switching Protocols (WebSocket, h2c) or a 2xx to CONNECT (a tunnel) the
		 * connection no longer carries HTTP/1: nothing in it is parsed again, either way. */
		if (status == 101 || (p->method == OBSBPF_M_CONNECT && status < 300)) {
			c->proto = OBSBPF_PROTO_OTHER;
			c->release = OBSBPF_REL_UPGRADED; /* sk_msg asks at the client's next send */
			stat_inc(OBSBPF_ST_CONN_UPGRADED);
			return 1;
		}
		/* Another response can follow in this segment only if a request is still waiting. */
		if (c->head == c->tail)
			return 1;
	}
	/* A lone response had only its status line loaded; an interim one (100 Continue) may be
	 * followed by the final response in this segment: its end is needed. */
	if (buf->n < TC_HEAD_MAX && buf->off + buf->n < buf->len && load_head(skb, buf) < 0)
		return 1;
	tc_head_scan(buf, 0);
	/* RFC 9112 6.3: no body after 1xx, 204, 304 and a HEAD request; without Content-Length a
	 * body runs to the close (or is chunked): nothing follows that we can find. */
	__s64 body = (interim || status == 204 || status == 304 || p->method == OBSBPF_M_HEAD)
		? 0
		: buf->fd.h.body;
	__u32 next = next_message(buf, body);
	if (!next)
		return 1;
	buf->off = next;
	return 0;
}

/* The messages of one segment: several pipelined requests, or responses, often arrive in one
 * segment. The segment's payload from off (want bytes at most) is loaded first. */
__noinline int obsbpf_tc_walk(struct __sk_buff *skb, struct obsbpf_conn *c, struct tc_buf *buf, __u32 off,
			      __u32 want)
{
	if (!c || !buf || off >= buf->len)
		return 0;
	__u32 n = buf->len - off < want ? buf->len - off : want;
	buf->off = off;
	if (load_at(skb, buf, off, n) < 0)
		return 0;
	for (__u32 i = 0; i < OBSBPF_PENDING; i++) {
		/* The next message of the segment: load its first bytes. */
		if (i > 0 && load_head(skb, buf) < 0)
			return 0;
		if (c->proto == OBSBPF_PROTO_TLS || c->proto == OBSBPF_PROTO_OTHER)
			return 0;
		int stop = c->dir == OBSBPF_DIR_SERVER && !buf->egress ? obsbpf_tc_request(c, buf, i)
								       : obsbpf_tc_response(skb, c, buf, i);
		if (stop)
			return 0;
	}
	return 0;
}

SEC("tc")
int obsbpf_tc_ingress(struct __sk_buff *skb)
{
	struct tc_buf *buf = scratch();
	if (!buf)
		return TC_ACT_OK;
	__builtin_memset(&buf->k, 0, sizeof(buf->k));
	__u32 len = parse_pkt(skb, &buf->k, 0);
	if (!len || (!may_start_http(skb, buf->k.payload_off) && !h2_any_live()))
		return TC_ACT_OK;

	/* Constant tuple sizes: the verifier wants the size bounded at the call. */
	struct bpf_sock *sk = buf->k.a.family == AF_INET
		? bpf_sk_lookup_tcp(skb, &buf->k.t, sizeof(buf->k.t.ipv4), BPF_F_CURRENT_NETNS, 0)
		: bpf_sk_lookup_tcp(skb, &buf->k.t, sizeof(buf->k.t.ipv6), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return TC_ACT_OK;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, 0);
	if (c && c->proto == OBSBPF_PROTO_HTTP2) {
		buf->len = len;
		obsbpf_h2_segment(skb, c, buf, c->dir == OBSBPF_DIR_SERVER);
	} else if (c && c->proto != OBSBPF_PROTO_TLS && c->proto != OBSBPF_PROTO_OTHER) {
		/* A request's head (trace headers, its length); a response's status line, unless
		 * more requests wait on the connection and more responses may follow it. */
		__u32 want =
			c->dir == OBSBPF_DIR_SERVER || c->tail - c->head > 1 ? TC_HEAD_MAX : TC_STATUS_BYTES;
		buf->len = len;
		buf->egress = 0;
		obsbpf_tc_walk(skb, c, buf, body_before_request(c, buf->k.seq, len), want);
		/* Its first bytes may have shown it HTTP/2: their frames follow in this segment. */
		if (c->proto == OBSBPF_PROTO_HTTP2)
			obsbpf_h2_segment(skb, c, buf, c->dir == OBSBPF_DIR_SERVER);
	}
	bpf_sk_release(sk);
	return TC_ACT_OK;
}

SEC("tc")
int obsbpf_tc_egress(struct __sk_buff *skb)
{
	struct tc_buf *buf = scratch();
	if (!buf)
		return TC_ACT_OK;
	__builtin_memset(&buf->k, 0, sizeof(buf->k));
	__u32 len = parse_pkt(skb, &buf->k, 1);
	if (!len)
		return TC_ACT_OK;
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return TC_ACT_OK;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return TC_ACT_OK;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, 0);
	if (!c || c->proto == OBSBPF_PROTO_TLS || c->proto == OBSBPF_PROTO_OTHER)
		return TC_ACT_OK;
	/* HTTP/2 is followed here in both roles: frames leave in TCP's segments, not in sends. */
	if (c->proto == OBSBPF_PROTO_HTTP2) {
		buf->len = len;
		obsbpf_h2_segment(skb, c, buf, c->dir == OBSBPF_DIR_CLIENT);
		return TC_ACT_OK;
	}
	/* Client connections' HTTP/1 requests are sk_msg's (it may insert headers into them). */
	if (c->dir != OBSBPF_DIR_SERVER)
		return TC_ACT_OK;
	/* Once the connection is known HTTP, only a status line ("HTTP/") starts a message. */
	__u8 first;
	if (c->proto == OBSBPF_PROTO_HTTP1 &&
	    (bpf_skb_load_bytes(skb, buf->k.payload_off, &first, 1) < 0 || first != 'H'))
		return TC_ACT_OK;
	/* The status line; the whole head when more requests wait (pipelined responses may share
	 * this segment). */
	buf->len = len;
	buf->egress = 1;
	obsbpf_tc_walk(skb, c, buf, 0, c->tail - c->head > 1 ? TC_HEAD_MAX : TC_STATUS_BYTES);
	if (c->proto == OBSBPF_PROTO_HTTP2)
		obsbpf_h2_segment(skb, c, buf, 0);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
