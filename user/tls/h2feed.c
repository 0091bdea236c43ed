// SPDX-License-Identifier: GPL-2.0
/* HTTP/2 inside TLS: each direction's plaintext cut at frame boundaries into the events tc
 * makes for cleartext (include/obsbpf/h2.h), so the same decoder (user/h2) puts header blocks
 * together, decodes them and ends the streams. What is handed on matches tc's: header-block
 * frames and settings whole, a reset's code, the DATA frame that ends a stream. A frame header,
 * or bytes of a frame handed on whole, beyond what a call's event carries loses the
 * connection's decoding (counted); a DATA payload beyond it only counts. */
#include "internal.h"

#include <string.h>

#define MAX_COLLECTED 65535 /* event offsets are 16 bits; the decoder's blocks are smaller */

static bool collected(uint8_t type, uint8_t flags)
{
	return type == OBSBPF_H2_HEADERS || type == OBSBPF_H2_CONTINUATION ||
		type == OBSBPF_H2_PUSH_PROMISE || (type == OBSBPF_H2_SETTINGS && !(flags & OBSBPF_H2_F_ACK));
}

static void send_event(struct tls_tracker *t, struct tls_conn *c, uint8_t kind, int fc, const void *data,
		       uint16_t off, uint16_t len)
{
	struct obsbpf_h2_event e = {
		.conn = c->id,
		.pod_id = c->pod_id,
		.kind = kind,
		.dir = c->role,
		.from_client = (uint8_t)fc,
		.off = off,
		.len = len,
	};
	if (kind == OBSBPF_H2_EV_FRAME || kind == OBSBPF_H2_EV_MORE) {
		struct tls_h2_dir *d = &c->h2[fc];
		e.ts_ns = d->frame_ts;
		e.seq = off; /* (the decoder checks a frame's chunks touch: seq - off is constant) */
		e.stream = d->stream;
		e.frame_len = d->frame_len;
		e.type = d->type;
		e.flags = d->flags;
		e.n = ++d->n;
	} else {
		e.ts_ns = c->last_ns;
	}
	if (kind == OBSBPF_H2_EV_LOST)
		e.type = OBSBPF_H2_LOST_GAP;
	if (kind == OBSBPF_H2_EV_OPEN)
		e.flags = OBSBPF_H2_OPEN_TLS;
	if (len)
		memcpy(e.data, data, len);
	h2_tracker_event(t->h2, &e, OBSBPF_H2_EVENT_HDR + len);
}

static void open_conn(struct tls_tracker *t, struct tls_conn *c)
{
	c->h2_open = true;
	c->h2_addrs = c->tied;
	send_event(t, c, OBSBPF_H2_EV_OPEN, 0, &c->sock.addrs, 0, c->tied ? sizeof(c->sock.addrs) : 0);
}

void tls_h2_init(struct tls_conn *c)
{
	memset(c->h2, 0, sizeof(c->h2));
	c->h2[1].preface = OBSBPF_H2_PREFACE_LEN;
}

static void lost(struct tls_tracker *t, struct tls_conn *c)
{
	c->h2_dead = true;
	t->st.dropped[TLS_DROP_H2]++;
	send_event(t, c, OBSBPF_H2_EV_LOST, 0, NULL, 0, 0);
}

/* A frame header was read: the events that do not wait for its payload. */
static void frame_start(struct tls_tracker *t, struct tls_conn *c, int fc)
{
	struct tls_h2_dir *d = &c->h2[fc];
	const uint8_t *h = d->hdr;
	d->frame_len = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
	d->type = h[3];
	d->flags = h[4];
	d->stream = ((uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8]) & 0x7fffffff;
	d->off = 0;
	d->in_frame = d->frame_len > 0;
	if (d->type == OBSBPF_H2_DATA && (d->flags & OBSBPF_H2_F_END_STREAM))
		send_event(t, c, OBSBPF_H2_EV_FRAME, fc, NULL, 0, 0);
	else if (collected(d->type, d->flags))
		send_event(t, c, OBSBPF_H2_EV_FRAME, fc, NULL, 0, 0);
}

/* k payload bytes at p (captured: how many of them the event carries). false: lost. */
static bool payload(struct tls_tracker *t, struct tls_conn *c, int fc, const uint8_t *p, uint32_t k,
		    uint32_t captured)
{
	struct tls_h2_dir *d = &c->h2[fc];
	bool whole = collected(d->type, d->flags);
	if ((whole || d->type == OBSBPF_H2_RST_STREAM) && captured < k)
		return false;
	if (whole) {
		if (d->frame_len > MAX_COLLECTED)
			return false;
		for (uint32_t i = 0; i < k; i += OBSBPF_H2_CHUNK) {
			uint32_t n = k - i < OBSBPF_H2_CHUNK ? k - i : OBSBPF_H2_CHUNK;
			send_event(t, c, OBSBPF_H2_EV_MORE, fc, p + i, (uint16_t)(d->off + i), (uint16_t)n);
		}
	} else if (d->type == OBSBPF_H2_RST_STREAM && d->off < 4) {
		uint32_t n = 4 - d->off < k ? 4 - d->off : k;
		memcpy(d->rst + d->off, p, n);
		if (d->off + n == 4)
			send_event(t, c, OBSBPF_H2_EV_FRAME, fc, d->rst, 0, 4);
	}
	return true;
}

void tls_h2_feed(struct tls_tracker *t, struct tls_conn *c, const struct obsbpf_tls_event *e,
		 bool from_client)
{
	int fc = from_client;
	struct tls_h2_dir *d = &c->h2[fc];
	if (c->h2_dead)
		return;
	/* The decoder learns of the connection (and later its addresses, once tied). */
	if (!c->h2_open || (c->tied && !c->h2_addrs))
		open_conn(t, c);
	uint32_t len = e->len, cap = e->cap, i = 0;
	if (d->preface) {
		uint32_t k = d->preface < len ? d->preface : len;
		d->preface -= k;
		i = k;
	}
	uint64_t ts = tls_call_ts(c, e);
	while (i < len) {
		if (!d->in_frame) {
			if (i >= cap) {
				lost(t, c);
				return;
			}
			uint32_t k = OBSBPF_H2_FRAME_HDR - d->hdr_len;
			if (k > cap - i)
				k = cap - i;
			memcpy(d->hdr + d->hdr_len, e->data + i, k);
			d->hdr_len += k;
			i += k;
			if (d->hdr_len < OBSBPF_H2_FRAME_HDR)
				continue; /* the header goes on in the next call, or is lost above */
			d->hdr_len = 0;
			d->frame_ts = ts;
			frame_start(t, c, fc);
			continue;
		}
		uint32_t k = d->frame_len - d->off;
		if (k > len - i)
			k = len - i;
		uint32_t captured = i < cap ? (cap - i < k ? cap - i : k) : 0;
		if (!payload(t, c, fc, e->data + i, k, captured)) {
			lost(t, c);
			return;
		}
		i += k;
		d->off += k;
		if (d->off == d->frame_len)
			d->in_frame = false;
	}
}

void tls_h2_close(struct tls_tracker *t, struct tls_conn *c)
{
	if (!c->h2_open)
		return;		     /* the decoder never learnt of it */
	if (c->tied && !c->h2_addrs) /* tied by the close event itself */
		open_conn(t, c);
	struct obsbpf_h2_event e = {
		.ts_ns = c->close_reason ? c->close_ns : c->last_ns,
		.conn = c->id,
		.pod_id = c->pod_id,
		.kind = OBSBPF_H2_EV_CLOSE,
		.dir = c->role,
		/* The socket's close, as the kernel's close event says it for cleartext: the decoder
		 * ends the plain requests still without response headers. 0: forgotten, ends nothing. */
		.type = c->close_reason ? (uint8_t)OBSBPF_H2_CLOSE_TYPE(c->close_reason) : 0,
	};
	h2_tracker_event(t->h2, &e, OBSBPF_H2_EVENT_HDR);
}
