// SPDX-License-Identifier: GPL-2.0
/* HTTP/2 on tc: each direction of a connection is followed frame by frame from its first byte
 * (9-byte frame headers; the payload skipped, or handed on in chunks), in TCP sequence space so
 * that retransmits are skipped and a gap is noticed. Header blocks go to user space, which
 * decodes them with nghttp2's HPACK inflater; here nothing is decoded. A connection that loses
 * sync is no longer followed, and counted; its bytes are never touched either way. */
#include "h2.bpf.h"
#include "tc_buf.bpf.h"
#include "trace.bpf.h"

/* Frames whose whole payload user space needs: header blocks (HPACK state depends on every
 * one) and settings (the header table size). */
static __always_inline int whole_payload(__u8 type, __u8 flags)
{
	return type == OBSBPF_H2_HEADERS || type == OBSBPF_H2_CONTINUATION ||
		type == OBSBPF_H2_PUSH_PROMISE || (type == OBSBPF_H2_SETTINGS && !(flags & OBSBPF_H2_F_ACK));
}

/* Frames user space hears of: the above, stream resets and GOAWAY (their first chunk: the
 * error code), and DATA that ends a stream (no payload). */
static __always_inline int announced(__u8 type, __u8 flags)
{
	return whole_payload(type, flags) || type == OBSBPF_H2_RST_STREAM || type == OBSBPF_H2_GOAWAY ||
		(type == OBSBPF_H2_DATA && (flags & OBSBPF_H2_F_END_STREAM));
}

/* A frame header no peer sends (RFC 9113 6.x): stream 0 where a stream is required, or the
 * reverse, or a length the type does not allow. */
static __always_inline int malformed(__u8 type, __u32 flen, __u32 stream)
{
	switch (type) {
	case OBSBPF_H2_DATA:
	case OBSBPF_H2_HEADERS:
	case OBSBPF_H2_CONTINUATION:
	case OBSBPF_H2_PUSH_PROMISE:
		return stream == 0;
	case OBSBPF_H2_PRIORITY:
		return stream == 0 || flen != 5;
	case OBSBPF_H2_RST_STREAM:
		return stream == 0 || flen != 4;
	case OBSBPF_H2_SETTINGS:
		return stream != 0 || flen % 6 != 0;
	case OBSBPF_H2_PING:
		return stream != 0 || flen != 8;
	case OBSBPF_H2_GOAWAY:
		return stream != 0 || flen < 8;
	case OBSBPF_H2_WINDOW_UPDATE:
		return flen != 4;
	}
	return 0; /* unknown types are ignored by peers (RFC 9113 5.5) */
}

/* One event: kind, the current frame of d, and n payload bytes from the segment's offset off
 * (n <= OBSBPF_H2_CHUNK). Returns 0 or -1 (ring buffer full, or the bytes unreadable). */
static __always_inline int emit(struct __sk_buff *skb, const struct obsbpf_conn *c, struct obsbpf_h2_side *d,
				const struct tc_buf *buf, __u32 kind, __u32 from_client, __u32 off, __u64 n)
{
	/* Without payload bytes, the record ends where they would start. */
	struct obsbpf_h2_event *e = n ? bpf_ringbuf_reserve(&h2_events, sizeof(*e), 0)
				      : bpf_ringbuf_reserve(&h2_events, OBSBPF_H2_EVENT_HDR, 0);
	if (!e)
		return -1;
	e->len = 0;
	if (n) {
		BOUND(n, OBSBPF_H2_CHUNK);
		NONZERO(n, OBSBPF_H2_CHUNK);
		if (bpf_skb_load_bytes(skb, buf->k.payload_off + off, e->data, n) < 0) {
			bpf_ringbuf_discard(e, 0);
			return -1;
		}
		e->len = (__u16)n;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->conn = c->cookie;
	e->pod_id = c->pod_id;
	e->seq = buf->k.seq + off;
	e->stream = d->stream;
	e->frame_len = d->frame_len;
	e->off = (__u16)(d->frame_len - (d->frame_end - d->pos));
	e->n = ++d->n;
	e->kind = (__u8)kind;
	e->dir = c->dir;
	e->from_client = (__u8)from_client;
	e->type = d->type;
	e->flags = d->flags;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	/* buf->t: the request's span context, set for a request's first HEADERS only. */
	if (kind == OBSBPF_H2_EV_FRAME)
		e->trace = buf->t;
	else
		__builtin_memset(&e->trace, 0, sizeof(e->trace));
	__u64 flags = bpf_ringbuf_query(&h2_events, BPF_RB_AVAIL_DATA) >= RINGBUF_WAKEUP_BYTES
		? BPF_RB_FORCE_WAKEUP
		: BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	return 0;
}

/* An event about the connection as a whole (kind OPEN, LOST, CLOSE), with the addresses a when
 * given. Returns 0 or -1 (ring buffer full). */
static __always_inline int conn_event(const struct obsbpf_conn *c, __u32 kind, __u32 type,
				      const struct obsbpf_addrs *a)
{
	struct obsbpf_h2_event *e = a ? bpf_ringbuf_reserve(&h2_events, sizeof(*e), 0)
				      : bpf_ringbuf_reserve(&h2_events, OBSBPF_H2_EVENT_HDR, 0);
	if (!e)
		return -1;
	__builtin_memset(e, 0, OBSBPF_H2_EVENT_HDR);
	if (a) {
		__builtin_memcpy(e->data, a, sizeof(*a));
		e->len = sizeof(*a);
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->conn = c->cookie;
	e->pod_id = c->pod_id;
	e->kind = (__u8)kind;
	e->dir = c->dir;
	e->type = (__u8)type;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* The connection is no longer followed, in either direction. Returns 1 (stop). */
static __noinline int h2_lost(struct obsbpf_conn *c, __u32 reason)
{
	if (!c)
		return 1;
	c->h2[0].sync = 0;
	c->h2[1].sync = 0;
	stat_inc(OBSBPF_ST_H2_LOST_GAP + reason - OBSBPF_H2_LOST_GAP);
	conn_event(c, OBSBPF_H2_EV_LOST, reason, NULL);
	return 1;
}

__noinline int obsbpf_h2_closed(struct obsbpf_conn *c, __u32 reason)
{
	if (!c)
		return 0;
	__u32 zero = 0;
	__s64 *live = bpf_map_lookup_elem(&h2_live, &zero);
	if (live)
		__sync_fetch_and_add(live, -1);
	/* Lost: user space frees the connection when it sweeps its table. */
	conn_event(c, OBSBPF_H2_EV_CLOSE, OBSBPF_H2_CLOSE_TYPE(reason), NULL);
	return 0;
}

__noinline int obsbpf_h2_start(struct obsbpf_conn *c)
{
	if (!c || c->proto == OBSBPF_PROTO_HTTP2)
		return 0;
	__u32 cl = c->dir == OBSBPF_DIR_SERVER ? c->rx_first_seq : c->tx_first_seq;
	__u32 sv = c->dir == OBSBPF_DIR_SERVER ? c->tx_first_seq : c->rx_first_seq;
	c->proto = OBSBPF_PROTO_HTTP2;
	__builtin_memset(c->h2, 0, sizeof(c->h2));
	c->h2[1].pos = c->h2[1].frame_end = cl + OBSBPF_H2_PREFACE_LEN;
	c->h2[1].sync = 1;
	c->h2[0].pos = c->h2[0].frame_end = sv;
	c->h2[0].sync = 1;
	/* sk_msg's walk of what the client sends, for trace fields (client connections only). */
	__builtin_memset(&c->h2tx, 0, sizeof(c->h2tx));
	c->h2tx.pos = c->h2tx.frame_end = cl + OBSBPF_H2_PREFACE_LEN;
	c->h2tx.sync = c->dir == OBSBPF_DIR_CLIENT;
	__builtin_memset(&c->h2_trace, 0, sizeof(c->h2_trace));
	__u32 zero = 0;
	__s64 *live = bpf_map_lookup_elem(&h2_live, &zero);
	if (live)
		__sync_fetch_and_add(live, 1);
	stat_inc(OBSBPF_ST_CONN_H2);
	/* Its addresses, for spans: the frames' events do not repeat them. */
	if (conn_event(c, OBSBPF_H2_EV_OPEN, 0, &c->addrs) < 0)
		h2_lost(c, OBSBPF_H2_LOST_EVENTS);
	return 0;
}

__noinline int obsbpf_hpack_int_bpf(struct obsbpf_hpack_buf *hb, __u32 bits)
{
	if (!hb)
		return -1;
	return obsbpf_hpack_int(hb->b, hb->s.n, &hb->s.i, bits);
}

__noinline int obsbpf_hpack_value_bpf(struct obsbpf_hpack_buf *hb, __u32 i, __u32 len, __u32 huff)
{
	if (!hb)
		return 0;
	return obsbpf_hpack_value(hb->b, &hb->s, i, len, huff);
}

static int hpack_step(__u32 i, void *ctx)
{
	struct obsbpf_hpack_buf *hb = *(struct obsbpf_hpack_buf **)ctx;
	obsbpf_hpack_step(hb->b, &hb->s);
	return CB_RET(hb->s.done);
}

__noinline int obsbpf_hpack_scan(struct obsbpf_hpack_buf *hb)
{
	if (!hb)
		return 0;
	/* bpf_loop takes a stack context: the buffer's address, there. */
	struct obsbpf_hpack_buf *p = hb;
	bpf_loop(OBSBPF_HPACK_FIELDS, hpack_step, &p, 0);
	return hb->s.found;
}

/* A request's first HEADERS (the client's current frame, its payload at buf->off): its span context into
 * buf->t. A client's request: what sk_msg gave it as it left. A request the pod serves: the
 * traceparent its block carries, continued, or a new trace; the thread that reads it serves it
 * (the thread hook reads c->h2_trace). A global subprogram: verified once. */
__noinline int obsbpf_h2_request(struct __sk_buff *skb, struct obsbpf_conn *c, struct tc_buf *buf)
{
	if (!c || !buf)
		return 0;
	__u32 flen = c->h2[1].frame_len, flags = c->h2[1].flags, stream = c->h2[1].stream;
	struct obsbpf_trace_cfg *cfg = trace_config();
	if (!cfg || !cfg->propagation)
		return 0;
	struct obsbpf_trace *t = &buf->t;
	if (c->dir == OBSBPF_DIR_CLIENT) {
		struct obsbpf_h2_stream_key k = { .conn = c->cookie, .stream = stream };
		struct obsbpf_trace *s = bpf_map_lookup_elem(&h2_tx_trace, &k);
		if (s) {
			*t = *s;
			bpf_map_delete_elem(&h2_tx_trace, &k);
		}
		return 0;
	}
	int found = 0;
	__u32 off = buf->off, len = buf->len;
	/* The block whole in this segment (the common case: a request's headers are small). */
	if ((flags & OBSBPF_H2_F_END_HEADERS) && flen && off + flen <= len) {
		__u32 skip = 0, pad = 0;
		__u8 p = 0;
		if (flags & OBSBPF_H2_F_PADDED) {
			if (bpf_skb_load_bytes(skb, buf->k.payload_off + off, &p, 1) < 0)
				return 0;
			pad = p;
			skip = 1;
		}
		if (flags & OBSBPF_H2_F_PRIORITY)
			skip += 5;
		if (skip + pad < flen) {
			struct obsbpf_hpack_buf *hb = &buf->hp;
			__u64 n = flen - skip - pad;
			BOUND(n, OBSBPF_HPACK_SCAN_BUF);
			NONZERO(n, OBSBPF_HPACK_SCAN_BUF);
			if (bpf_skb_load_bytes(skb, buf->k.payload_off + off + skip, hb->b, n) == 0) {
				__builtin_memset(&hb->s, 0, sizeof(hb->s));
				hb->s.n = (__u32)n;
				found = obsbpf_hpack_scan(hb);
			}
		}
	}
	if (found) {
		__builtin_memcpy(t->trace_id, buf->hp.s.t.trace_id, 16);
		__builtin_memcpy(t->parent_id, buf->hp.s.t.parent_id, 8);
		t->flags = buf->hp.s.t.flags;
		t->origin = OBSBPF_TO_HEADER;
		new_span_id(t);
		stat_inc(OBSBPF_ST_TRACE_CONTINUED);
	} else {
		new_trace(t, cfg);
	}
	c->h2_trace = *t;
	return 0;
}

/* The server's SETTINGS on a client connection, whole in this segment: SETTINGS_MAX_FRAME_SIZE
 * bounds how far sk_msg may grow a request's HEADERS frame. */
__noinline int obsbpf_h2_settings(struct __sk_buff *skb, struct obsbpf_conn *c, struct tc_buf *buf,
				  __u32 flen)
{
	if (!c || !buf || buf->off + flen > buf->len)
		return 0;
	for (__u32 i = 0; i < 8; i++) {
		__u8 e[6];
		if ((i + 1) * 6 > flen ||
		    bpf_skb_load_bytes(skb, buf->k.payload_off + buf->off + i * 6, e, sizeof(e)) < 0)
			break;
		if (e[0] == 0 && e[1] == 5) /* SETTINGS_MAX_FRAME_SIZE (RFC 9113 6.5.2) */
			c->h2tx.peer_max_frame =
				(__u32)e[2] << 24 | (__u32)e[3] << 16 | (__u32)e[4] << 8 | e[5];
	}
	return 0;
}

/* The current frame's first event: its header, with the payload's first chunk when it is one
 * user space takes (a header block, settings, a reset's code). A global subprogram: a request's
 * HEADERS is emitted from obsbpf_h2_segment, after its span context was made. Returns 1 to stop
 * (the connection is lost). */
__noinline int obsbpf_h2_first_chunk(struct __sk_buff *skb, struct obsbpf_conn *c, struct tc_buf *buf,
				     __u32 from_client)
{
	if (!c || !buf)
		return 1;
	struct obsbpf_h2_side *d = &c->h2[from_client & 1];
	__u32 off = buf->off, len = buf->len, flen = d->frame_len;
	__u32 n = d->type == OBSBPF_H2_DATA || off >= len ? 0 : len - off;
	if (n > flen)
		n = flen;
	if (n > OBSBPF_H2_CHUNK)
		n = OBSBPF_H2_CHUNK;
	if (emit(skb, c, d, buf, OBSBPF_H2_EV_FRAME, from_client, off, n) < 0)
		return h2_lost(c, OBSBPF_H2_LOST_EVENTS);
	d->pos += n;
	buf->off = off + n;
	return 0;
}

/* The frame header in d->hdr is whole: take it. Returns 1 to stop: the connection was lost, or
 * a request's HEADERS waits for its span context (buf->req_pending). */
static __always_inline int frame_header(struct __sk_buff *skb, struct obsbpf_conn *c,
					struct obsbpf_h2_side *d, struct tc_buf *buf, __u32 from_client)
{
	__u32 flen = (__u32)d->hdr[0] << 16 | (__u32)d->hdr[1] << 8 | d->hdr[2];
	__u8 type = d->hdr[3], flags = d->hdr[4];
	__u32 stream =
		((__u32)d->hdr[5] & 0x7f) << 24 | (__u32)d->hdr[6] << 16 | (__u32)d->hdr[7] << 8 | d->hdr[8];
	if (malformed(type, flen, stream))
		return h2_lost(c, OBSBPF_H2_LOST_MALFORMED);
	d->hdr_have = 0;
	d->type = type;
	d->flags = flags;
	d->stream = stream;
	d->frame_len = flen;
	d->frame_end = d->pos + flen;
	if (!announced(type, flags))
		return 0;
	__builtin_memset(&buf->t, 0, sizeof(buf->t));
	/* Client stream ids only grow (RFC 9113 5.1.1): a higher one is a new request. Its context
	 * is made outside this call chain (6.1 allows 512 bytes of stack over all of a chain's
	 * frames, and the scan is deep). */
	if (type == OBSBPF_H2_HEADERS && from_client && (stream & 1) && stream > d->last_stream) {
		d->last_stream = stream;
		if (!buf->req_none) {
			buf->req_pending = 1;
			return 1;
		}
	}
	if (type == OBSBPF_H2_SETTINGS && !from_client && c->dir == OBSBPF_DIR_CLIENT)
		obsbpf_h2_settings(skb, c, buf, flen);
	return obsbpf_h2_first_chunk(skb, c, buf, from_client);
}

/* One step through the segment from buf->off: a piece of payload, or a frame header. A global
 * subprogram: the loop over steps costs the verifier one call per step. Returns 1 to stop. */
__noinline int obsbpf_h2_step(struct __sk_buff *skb, struct obsbpf_conn *c, struct tc_buf *buf,
			      __u32 from_client)
{
	if (!c || !buf)
		return 1;
	struct obsbpf_h2_side *d = &c->h2[from_client & 1];
	__u32 off = buf->off, len = buf->len;
	if (off >= len || !d->sync)
		return 1;
	__u32 avail = len - off;
	if (!d->hdr_have && d->pos != d->frame_end) {
		/* Inside a payload: skipped, or handed on a chunk at a time. */
		__u32 n = d->frame_end - d->pos;
		if (n > avail)
			n = avail;
		if (whole_payload(d->type, d->flags)) {
			if (n > OBSBPF_H2_CHUNK)
				n = OBSBPF_H2_CHUNK;
			if (emit(skb, c, d, buf, OBSBPF_H2_EV_MORE, from_client, off, n) < 0)
				return h2_lost(c, OBSBPF_H2_LOST_EVENTS);
		}
		d->pos += n;
		buf->off = off + n;
		return 0;
	}
	/* At a frame header: whole in this segment (the common case), or split over two. */
	if (!d->hdr_have && avail >= OBSBPF_H2_FRAME_HDR) {
		if (bpf_skb_load_bytes(skb, buf->k.payload_off + off, d->hdr, OBSBPF_H2_FRAME_HDR) < 0)
			return h2_lost(c, OBSBPF_H2_LOST_GAP);
		d->pos += OBSBPF_H2_FRAME_HDR;
		buf->off = off + OBSBPF_H2_FRAME_HDR;
		return frame_header(skb, c, d, buf, from_client);
	}
	/* Split: as many of its bytes as there are, into a stack buffer first (one load; Linux
	 * 6.1's CFG check rejects a loop whose body ends in a helper call), then into hdr. */
	__u32 have = d->hdr_have, n = OBSBPF_H2_FRAME_HDR - have;
	if (have >= OBSBPF_H2_FRAME_HDR)
		return h2_lost(c, OBSBPF_H2_LOST_MALFORMED); /* cannot happen: kept below 9 */
	if (n > avail)
		n = avail;
	__u8 tmp[16];
	NONZERO(n, 16); /* n is 1 .. 9: avail > 0 */
	if (bpf_skb_load_bytes(skb, buf->k.payload_off + off, tmp, n) < 0)
		return h2_lost(c, OBSBPF_H2_LOST_GAP);
	for (__u32 k = 0; k < OBSBPF_H2_FRAME_HDR; k++) {
		__u32 at = have + k;
		if (k >= n || at >= OBSBPF_H2_FRAME_HDR)
			break;
		d->hdr[at] = tmp[k];
	}
	off += n;
	d->pos += n;
	if (have + n < OBSBPF_H2_FRAME_HDR) {
		d->hdr_have = (__u8)(have + n);
		buf->off = off;
		return 1; /* the segment ends inside the frame header */
	}
	buf->off = off;
	return frame_header(skb, c, d, buf, from_client);
}

#define H2_SEG_REQUESTS 64 /* requests whose span context one segment's walk makes */

/* bpf_loop's context: the walk of one segment. */
struct h2_walk {
	struct __sk_buff *skb;
	struct obsbpf_conn *c;
	struct tc_buf *buf;
	__u32 from_client;
	__u32 pad;
};

static int h2_walk_step(__u32 i, void *ctx)
{
	struct h2_walk *w = ctx;
	return CB_RET(obsbpf_h2_step(w->skb, w->c, w->buf, w->from_client));
}

__noinline int obsbpf_h2_segment(struct __sk_buff *skb, struct obsbpf_conn *c, struct tc_buf *buf,
				 __u32 from_client)
{
	if (!c || !buf)
		return 0;
	struct obsbpf_h2_side *d = &c->h2[from_client & 1];
	if (!d->sync)
		return 0;
	__u32 seq = buf->k.seq, len = buf->len;
	__s32 behind = (__s32)(d->pos - seq); /* bytes of the segment already followed */
	if (behind < 0) {
		/* Bytes before this segment were not seen: harmless only inside a payload that is
		 * skipped anyway, with this segment still within it. */
		if (d->hdr_have || d->pos == d->frame_end || whole_payload(d->type, d->flags) ||
		    (__s32)(d->frame_end - seq) < 0)
			return h2_lost(c, OBSBPF_H2_LOST_GAP);
		d->pos = seq;
		behind = 0;
	}
	if ((__u32)behind >= len)
		return 0; /* a retransmit of what was followed */
	buf->off = (__u32)behind;
	/* A loop of steps, each a global subprogram: verified once, however many frames the
	 * segment holds (a 64 KiB segment of small DATA frames has thousands). It stops at each
	 * request's HEADERS, whose span context is made here, and goes on; past H2_SEG_REQUESTS
	 * requests in one segment, the rest get none (user space makes one). */
	struct h2_walk w = { .skb = skb, .c = c, .buf = buf, .from_client = from_client };
	buf->req_none = 0;
	for (int r = 0; r <= H2_SEG_REQUESTS; r++) {
		buf->req_pending = 0;
		buf->req_none = r == H2_SEG_REQUESTS;
		bpf_loop(OBSBPF_H2_STEPS, h2_walk_step, &w, 0);
		if (!buf->req_pending || !d->sync)
			break;
		obsbpf_h2_request(skb, c, buf);
		if (obsbpf_h2_first_chunk(skb, c, buf, from_client))
			return 0;
	}
	if (buf->off < len && d->sync)
		return h2_lost(c, OBSBPF_H2_LOST_BUDGET);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
