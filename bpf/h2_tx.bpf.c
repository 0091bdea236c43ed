// SPDX-License-Identifier: GPL-2.0
/* HTTP/2 on sk_msg: a client connection's frames followed as the app sends them, and the trace
 * fields of the configured styles appended to each request's header block. A request is the
 * first HEADERS of a new (odd, higher) stream id (RFC 9113 5.1.1). Its block is scanned for a
 * traceparent of the app's own first: found, the request is continued and left as it is (and
 * nothing is inserted on the connection again). Otherwise, where the HEADERS frame is whole in
 * the send, ends the block (END_HEADERS), and may grow by the fields within the server's
 * SETTINGS_MAX_FRAME_SIZE, the fields go at the end of the block, before any padding, as HPACK
 * literals without indexing (include/obsbpf/hpack.h: no table state changes on either side),
 * and the frame's 24-bit length grows by as much. Everything else in the stream is untouched.
 * The span context goes to tc egress through map h2_tx_trace, for the HEADERS' event. */
#include "h2.bpf.h"
#include "trace.bpf.h"
#include <bpf/bpf_core_read.h>

/* An empty context, in .rodata: what a new h2_tx_trace entry starts as. */
const struct obsbpf_trace obsbpf_zero_trace __weak = {};

#define H2_MAX_FRAME_DEFAULT 16384 /* SETTINGS_MAX_FRAME_SIZE's initial value */
#define H2_TX_STEPS	     8192  /* frame headers and payloads walked per send */
#define H2_NO_START	     0xffffffffu
#define H2_TX_REQUESTS	     64	    /* requests given a header per send */
#define H2_COALESCE_MAX	     16384  /* a send copied into one piece after insertions, up to */
#define H2_OFF_MASK	     0x3fff /* a HEADERS frame grown within 16 KiB */

/* The walk of one send (bpf_loop's context, on the stack); where it is in the send is kept in
 * c->h2tx.off (a stack struct holding pointers cannot be handed to a global subprogram). */
struct h2_tx_walk {
	struct sk_msg_md *msg;
	struct obsbpf_conn *c;
};

/* Writes the fields of one style at `at` of the pulled frame (data = the frame's header).
 * Returns the bytes written, or -1. A global subprogram per style, as obsbpf_put_header. */
__noinline int obsbpf_put_h2_field(struct sk_msg_md *msg, __u32 at, __u32 style, struct obsbpf_trace *t)
{
	void *data = (void *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;
	__u8 *w = data + (at & H2_OFF_MASK);
	OPAQUE(w);
	if (!t)
		return -1;
	switch (style) {
	case OBSBPF_PROP_W3C:
		if ((void *)(w + OBSBPF_H2_TRACEPARENT_LEN) > end)
			return -1;
		obsbpf_fmt_h2_traceparent(w, t);
		return OBSBPF_H2_TRACEPARENT_LEN;
	case OBSBPF_PROP_B3:
		if ((void *)(w + OBSBPF_H2_B3_LEN) > end)
			return -1;
		obsbpf_fmt_h2_b3(w, t);
		return OBSBPF_H2_B3_LEN;
	case OBSBPF_PROP_XTRACE:
		if ((void *)(w + OBSBPF_H2_XTRACE_LEN) > end)
			return -1;
		obsbpf_fmt_h2_xtrace(w, t);
		return OBSBPF_H2_XTRACE_LEN;
	case OBSBPF_PROP_XTRACE | 0x100:
		if ((void *)(w + OBSBPF_H2_XPARENT_LEN) > end)
			return -1;
		obsbpf_fmt_h2_xparent(w, t);
		return OBSBPF_H2_XPARENT_LEN;
	}
	return -1;
}

/* The fields' total length for the styles in props. */
static __always_inline __u32 fields_len(__u32 props, const struct obsbpf_trace *t)
{
	__u64 parent;
	__builtin_memcpy(&parent, t->parent_id, 8);
	return (props & OBSBPF_PROP_W3C ? OBSBPF_H2_TRACEPARENT_LEN : 0) +
		(props & OBSBPF_PROP_B3 ? OBSBPF_H2_B3_LEN : 0) +
		(props & OBSBPF_PROP_XTRACE ? OBSBPF_H2_XTRACE_LEN + (parent ? OBSBPF_H2_XPARENT_LEN : 0)
					    : 0);
}

/* Inserts the fields (len bytes) at `at`, the end of the block of the HEADERS frame whose
 * header is at hdr, and grows the frame's length by len. Returns len, or -1 with the send as
 * it was. */
__noinline int obsbpf_h2_inject(struct sk_msg_md *msg, __u32 hdr, __u32 at, __u32 props,
				struct obsbpf_trace *t)
{
	if (!t || at <= hdr || at - hdr > H2_OFF_MASK - 256)
		return -1;
	__u32 len = fields_len(props, t);
	if (!len || bpf_msg_push_data(msg, at, len, 0))
		return -1;
	/* The frame from its header through the new fields in one piece: writable, and one
	 * segment for a TCP_NODELAY sender rather than three. */
	if (bpf_msg_pull_data(msg, hdr, at + len, 0))
		goto undo;
	__u64 parent;
	__builtin_memcpy(&parent, t->parent_id, 8);
	__u32 styles[4] = { props & OBSBPF_PROP_W3C, props & OBSBPF_PROP_B3, props & OBSBPF_PROP_XTRACE,
			    (props & OBSBPF_PROP_XTRACE) && parent ? OBSBPF_PROP_XTRACE | 0x100 : 0 };
	__u32 w = at - hdr;
	for (int i = 0; i < 4; i++) {
		if (!styles[i])
			continue;
		int n = obsbpf_put_h2_field(msg, w, styles[i], t);
		if (n < 0)
			goto undo;
		w += (__u32)n;
	}
	void *data = (void *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;
	__u8 *h = data;
	if ((void *)(h + 3) > end)
		goto undo;
	__u32 flen = ((__u32)h[0] << 16 | (__u32)h[1] << 8 | h[2]) + len;
	h[0] = (__u8)(flen >> 16);
	h[1] = (__u8)(flen >> 8);
	h[2] = (__u8)flen;
	return (int)len;
undo:
	bpf_msg_pop_data(msg, at, len, 0);
	return -1;
}

/* The block of the request HEADERS frame (flen payload bytes at x->off, flags) scanned for a
 * traceparent of the app's. Returns 1 when it has one (the context in the buffer's scan), 0
 * when the whole block was read without one, -1 when it could not be read whole. *pad: the
 * padding after the block. */
static __always_inline int scan_block(struct sk_msg_md *msg, struct obsbpf_hpack_buf *hb, __u32 off,
				      __u32 flen, __u32 flags, __u32 *pad)
{
	if (bpf_msg_pull_data(msg, off, off + flen, 0))
		return -1;
	void *data = (void *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;
	__u32 skip = 0;
	*pad = 0;
	if (flags & OBSBPF_H2_F_PADDED) {
		if (data + 1 > end)
			return -1;
		*pad = *(__u8 *)data;
		skip = 1;
	}
	if (flags & OBSBPF_H2_F_PRIORITY)
		skip += 5;
	if (skip + *pad >= flen)
		return -1;
	__u64 n = flen - skip - *pad;
	if (n > OBSBPF_HPACK_SCAN_BUF)
		return -1; /* beyond what is scanned: a traceparent could hide there */
	BOUND(n, OBSBPF_HPACK_SCAN_BUF);
	NONZERO(n, OBSBPF_HPACK_SCAN_BUF);
	if (bpf_probe_read_kernel(hb->b, n, data + (skip & 7)) < 0)
		return -1;
	__builtin_memset(&hb->s, 0, sizeof(hb->s));
	hb->s.n = (__u32)n;
	if (obsbpf_hpack_scan(hb))
		return 1;
	return hb->s.whole ? 0 : -1;
}

/* A request's first HEADERS (its header at hdr, its payload at c->h2tx.off): its span context,
 * and the fields when it may have them. Reported to tc egress (h2_tx_trace). */
__noinline int obsbpf_h2_tx_request(struct sk_msg_md *msg, struct obsbpf_conn *c, __u32 hdr, __u32 stream)
{
	if (!msg || !c)
		return 0;
	struct obsbpf_trace_cfg *cfg = trace_config();
	if (!cfg || !cfg->propagation)
		return 0;
	struct obsbpf_h2_tx *x = &c->h2tx;
	__u32 flen = x->frame_end - x->pos, flags = x->hdr[4];
	struct obsbpf_trace *t = &c->h2_trace;
	__builtin_memset(t, 0, sizeof(*t));
	struct bpf_sock *sk = msg->sk;
	struct obsbpf_hpack_buf *hb =
		sk ? bpf_sk_storage_get(&h2_txbuf, sk, 0, BPF_SK_STORAGE_GET_F_CREATE) : NULL;
	if (!hb)
		return 0;
	__u32 pad = 0;
	/* The frame whole in this send, the block ending in it: the case that can be written. */
	__u32 off = x->off;
	int whole = hdr != H2_NO_START && (flags & OBSBPF_H2_F_END_HEADERS) && off + flen <= msg->size;
	int seen = whole ? scan_block(msg, hb, off, flen, flags, &pad) : -1;
	if (seen == 1) {
		/* The app propagates on this connection: continued here, never inserted into. */
		__builtin_memcpy(t->trace_id, hb->s.t.trace_id, 16);
		__builtin_memcpy(t->parent_id, hb->s.t.parent_id, 8);
		t->flags = hb->s.t.flags;
		t->origin = OBSBPF_TO_HEADER;
		new_span_id(t);
		x->app_tp = 1;
		stat_inc(OBSBPF_ST_TRACE_CONTINUED);
		goto report;
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
	if (x->app_tp)
		goto report;
	if (!c->may_inject) {
		stat_inc(OBSBPF_ST_TRACE_NOT_ALLOWED);
		goto report;
	}
	if (!insert_wanted(cfg, t))
		goto report;
	if (seen != 0) {
		stat_inc(OBSBPF_ST_TRACE_HEAD_SPLIT);
		goto report;
	}
	__u32 max = x->peer_max_frame ? x->peer_max_frame : H2_MAX_FRAME_DEFAULT;
	__u32 len = fields_len(cfg->propagation, t);
	if (flen + len > max) {
		stat_inc(OBSBPF_ST_TRACE_FRAME_SIZE);
		goto report;
	}
	int added = obsbpf_h2_inject(msg, hdr, off + flen - pad, cfg->propagation, t);
	if (added < 0) {
		stat_inc(OBSBPF_ST_TRACE_INJECT_FAILED);
		goto report;
	}
	x->frame_end += (__u32)added;
	x->pushed = 1;
	t->injected = 1;
	stat_inc(OBSBPF_ST_TRACE_INJECTED);
report:;
	/* In two steps: a helper takes no value from socket storage seen through a global
	 * subprogram's argument on 6.1, and a copy on the stack would pass 6.1's 512 bytes. */
	struct obsbpf_h2_stream_key *k = (struct obsbpf_h2_stream_key *)hb->key;
	k->conn = c->cookie;
	k->stream = stream;
	k->pad = 0;
	bpf_map_update_elem(&h2_tx_trace, k, &obsbpf_zero_trace, BPF_ANY);
	struct obsbpf_trace *v = bpf_map_lookup_elem(&h2_tx_trace, k);
	if (v)
		*v = *t;
	return 0;
}

/* The frame header in x->hdr is whole (its first byte at hdr in this send, or H2_NO_START when
 * it came in pieces): where the frame ends, and whether it opens a request. */
static __always_inline int frame_header(struct sk_msg_md *msg, struct obsbpf_conn *c, __u32 hdr)
{
	struct obsbpf_h2_tx *x = &c->h2tx;
	__u32 flen = (__u32)x->hdr[0] << 16 | (__u32)x->hdr[1] << 8 | x->hdr[2];
	__u32 stream =
		((__u32)x->hdr[5] & 0x7f) << 24 | (__u32)x->hdr[6] << 16 | (__u32)x->hdr[7] << 8 | x->hdr[8];
	x->hdr_have = 0;
	x->frame_end = x->pos + flen;
	if (x->hdr[3] == OBSBPF_H2_HEADERS && (stream & 1) && stream > x->last_stream) {
		x->last_stream = stream;
		/* Handled outside this call chain (6.1: 512 bytes of stack over a chain's frames). */
		if (!x->req_none) {
			x->req_hdr = hdr;
			x->req_pending = 1;
			return 1;
		}
		stat_inc(OBSBPF_ST_TRACE_HEAD_SPLIT);
	}
	return 0;
}

/* One step of the walk: a piece of payload skipped, or a frame header read. A global
 * subprogram, called from bpf_loop: verified once. Returns 1 to stop. */
__noinline int obsbpf_h2_tx_step(struct sk_msg_md *msg, struct obsbpf_conn *c)
{
	if (!msg || !c)
		return 1;
	struct obsbpf_h2_tx *x = &c->h2tx;
	__u32 off = x->off, size = msg->size;
	if (!x->sync || off >= size)
		return 1;
	if (x->pos != x->frame_end) {
		__u32 n = x->frame_end - x->pos;
		if (n > size - off)
			n = size - off;
		x->pos += n;
		x->off = off + n;
		return 0;
	}
	__u32 have = x->hdr_have & 15, n = 9 - have;
	if (have > 8)
		return 1;
	if (n > size - off)
		n = size - off;
	if (bpf_msg_pull_data(msg, off, off + n, 0))
		goto lost;
	void *data = (void *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;
	for (__u32 k = 0; k < 9; k++) {
		__u32 at = have + k;
		if (k >= n || at >= 9)
			break;
		if (data + k + 1 > end)
			goto lost;
		x->hdr[at] = *(__u8 *)(data + k);
	}
	x->pos += n;
	x->off = off + n;
	if (have + n < 9) {
		x->hdr_have = (__u8)(have + n);
		return 1; /* the send ends inside the frame header */
	}
	return frame_header(msg, c, have ? H2_NO_START : off);
lost:
	x->sync = 0;
	stat_inc(OBSBPF_ST_H2_TX_DESYNC);
	return 1;
}

static int tx_step(__u32 i, void *ctx)
{
	struct h2_tx_walk *w = ctx;
	return CB_RET(obsbpf_h2_tx_step(w->msg, w->c));
}

__noinline int obsbpf_h2_tx(struct sk_msg_md *msg, struct obsbpf_conn *c)
{
	if (!msg || !c || !c->h2tx.sync)
		return 0;
	struct obsbpf_h2_tx *x = &c->h2tx;
	/* write_seq: where this send starts in the stream (its bytes are not queued yet). */
	struct bpf_sock *sk = msg->sk;
	struct tcp_sock *tp = sk ? bpf_skc_to_tcp_sock(sk) : NULL;
	if (!tp)
		return 0;
	__u32 seq = BPF_CORE_READ(tp, write_seq);
	__s32 behind = (__s32)(x->pos - seq);
	if (behind < 0) {
		/* Bytes sent that were never walked: where frames start is no longer known. */
		x->sync = 0;
		stat_inc(OBSBPF_ST_H2_TX_DESYNC);
		return 0;
	}
	/* Walked already: the rest of an earlier send the kernel could queue only in part. */
	if ((__u32)behind >= msg->size)
		return 0;
	x->off = (__u32)behind;
	struct h2_tx_walk w = { .msg = msg, .c = c };
	/* The walk stops at each request's HEADERS, which is handled here, and goes on; past
	 * H2_TX_REQUESTS requests in one send the rest get no header (counted head_split). */
	for (int r = 0; r <= H2_TX_REQUESTS; r++) {
		x->req_pending = 0;
		x->req_none = r == H2_TX_REQUESTS;
		bpf_loop(H2_TX_STEPS, tx_step, &w, 0);
		if (!x->req_pending || !x->sync)
			break;
		obsbpf_h2_tx_request(msg, c, x->req_hdr, x->last_stream);
	}
	/* Each insertion leaves the send in more scatterlist pieces, which a TCP_NODELAY sender
	 * sends as more segments: one piece again, where the send is small enough to copy. */
	/* One read of the size, kept in a register: clang 19 otherwise merges the two reads into
	 * one load through ctx + a chosen offset, which the verifier refuses (modified ctx ptr). */
	__u32 size = msg->size;
	asm volatile("" : "+r"(size));
	if (x->pushed && size <= H2_COALESCE_MAX)
		bpf_msg_pull_data(msg, 0, size, 0);
	x->pushed = 0;
	if (x->off < size && x->sync) {
		x->sync = 0;
		stat_inc(OBSBPF_ST_H2_TX_DESYNC);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
