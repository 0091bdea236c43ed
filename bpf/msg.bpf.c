// SPDX-License-Identifier: GPL-2.0
/* sk_msg on pod_socks: runs in the sending thread for every sendmsg of the pod's sockets.
 * Client sockets: an outgoing request starts the clock. Server sockets: the response's status
 * line stops it. The message is always passed unchanged. */
#include "conn.bpf.h"
#include "head_scan.bpf.h"

/* Lets the verdict cover exactly this message's head and body, so the program runs again at
 * the start of the next pipelined message and never on body bytes sent later. */
static __always_inline int skip_body(struct sk_msg_md *msg, __s64 body_len)
{
	struct head_info hi = {};
	if (scan_head(msg, &hi) < 0) {
		stat_inc(OBSBPF_ST_HEAD_UNSCANNED);
		return 0;
	}
	if (body_len < 0)
		body_len = hi.content_length;
	if (body_len < 0) /* chunked or close-delimited: the next message is found by the FIFO */
		return 0;
	__u64 total = hi.head_len + (__u64)body_len;
	if (total == 0 || total >= 0xffffffffull)
		return 0;
	bpf_msg_apply_bytes(msg, (__u32)total);
	return 1;
}

static __always_inline void on_request(struct sk_msg_md *msg, struct obsbpf_conn *c,
				       struct obsbpf_line *line, __u32 n)
{
	__u32 target = 0;
	int m = obsbpf_parse_method(line->b, n, &target);
	if (m < 0) {
		/* Where the last request ended exactly, the next one must start: anything else is
		 * malformed HTTP (passed on untouched). Elsewhere it is a body or a first message. */
		if (c->at_boundary)
			stat_inc(OBSBPF_ST_MALFORMED);
		else
			classify_other(c, line->b, n);
		c->at_boundary = 0;
		return;
	}
	c->proto = OBSBPF_PROTO_HTTP1;
	pending_push(c, bpf_ktime_get_ns(), (__u8)m, obsbpf_route_intern(line, n, target));
	c->at_boundary = (__u8)skip_body(msg, -1);
}

static __always_inline void on_response(struct sk_msg_md *msg, struct obsbpf_conn *c,
					struct obsbpf_line *line, __u32 n)
{
	int status = obsbpf_parse_status(line->b, n);
	if (status < 0) {
		/* A body, the rest of a head, or a server that speaks first (not HTTP). */
		if (c->head == c->tail)
			classify_other(c, line->b, n);
		return;
	}
	if (status < 200 && status != 101) /* interim response: the request is still open */
		return;
	struct obsbpf_pending p;
	if (pending_pop(c, &p) < 0) {
		stat_inc(OBSBPF_ST_RESP_UNMATCHED);
		return;
	}
	record_exchange(c, &p, bpf_ktime_get_ns(), (__u16)status, &c->addrs);
	if (status == 101) { /* upgraded (e.g. WebSocket): no more HTTP/1 on this connection */
		c->proto = OBSBPF_PROTO_OTHER;
		return;
	}
	/* Only a request still waiting can have its response later in this same send (pipelining):
	 * otherwise the head scan buys nothing but skipping this response's body in later sends,
	 * which the FIFO guard already ignores, and it costs ~3% of throughput under wrk. */
	if (c->head == c->tail)
		return;
	/* RFC 9112 6.3: no body after HEAD, 204 and 304 whatever Content-Length says. */
	(void)skip_body(msg, (p.method == OBSBPF_M_HEAD || status == 204 || status == 304) ? 0 : -1);
}

SEC("sk_msg")
int obsbpf_msg(struct sk_msg_md *msg)
{
	struct bpf_sock *sk = msg->sk;
	if (!sk)
		return SK_PASS;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, 0);
	if (!c || c->proto == OBSBPF_PROTO_TLS || c->proto == OBSBPF_PROTO_OTHER)
		return SK_PASS;

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
	__u32 n = end - data;
	if (n == 0)
		return SK_PASS;
	if (n > OBSBPF_LINE_BUF)
		n = OBSBPF_LINE_BUF;
	if (c->dir == OBSBPF_DIR_SERVER) {
		/* A status line is 12 bytes: read in place, no copy (this runs once per response). */
		struct obsbpf_line *head = data;
		if ((void *)head + 16 > end) {
			struct obsbpf_line small = {};
			if (bpf_probe_read_kernel(small.b, n & 15, data) < 0)
				return SK_PASS;
			on_response(msg, c, &small, n);
		} else {
			on_response(msg, c, head, 16);
		}
		return SK_PASS;
	}
	struct obsbpf_line line;
	if (bpf_probe_read_kernel(line.b, n & (OBSBPF_LINE_BUF * 2 - 1), data) < 0)
		return SK_PASS;
	on_request(msg, c, &line, n);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
