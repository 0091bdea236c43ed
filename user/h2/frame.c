// SPDX-License-Identifier: GPL-2.0
/* Frames put back together from the kernel's chunks, and header blocks from their frames
 * (RFC 9113 4.3: HEADERS or PUSH_PROMISE, then CONTINUATION frames of the same stream until
 * END_HEADERS, nothing else in between). Padding and priority fields are cut off here. */
#include "internal.h"

#include <string.h>

#define SETTINGS_HEADER_TABLE_SIZE 0x1

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Frames whose payload the kernel hands on whole (bpf/h2.bpf.c whole_payload). */
static bool collected(uint8_t type, uint8_t flags)
{
	return type == OBSBPF_H2_HEADERS || type == OBSBPF_H2_CONTINUATION ||
		type == OBSBPF_H2_PUSH_PROMISE || (type == OBSBPF_H2_SETTINGS && !(flags & OBSBPF_H2_F_ACK));
}

static void settings(struct h2_tracker *t, struct h2_conn *c, uint32_t fc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 6 <= n; i += 6) {
		uint16_t id = (uint16_t)(p[i] << 8 | p[i + 1]);
		/* The sender's decoder allows this much: it bounds what the other side encodes. */
		if (id == SETTINGS_HEADER_TABLE_SIZE)
			h2_hpack_table_size(&c->d[!fc], be32(p + i + 2), t->lim.max_table);
	}
}

static void block_done(struct h2_tracker *t, struct h2_conn *c, uint32_t fc)
{
	struct h2_dir *d = &c->d[fc];
	struct h2_fields f;
	d->in_block = false;
	if (h2_hpack_decode(d, d->block.b, d->block.len, &f) < 0) {
		h2_conn_drop(t, c, H2_DROP_HPACK);
		return;
	}
	d->block.len = 0;
	/* A PUSH_PROMISE's block only keeps HPACK in step: the pushed stream is not a request of
	 * the client's, and is not measured. */
	if (d->block_type == OBSBPF_H2_HEADERS)
		h2_stream_headers(t, c, fc, d->block_stream, d->block_end_stream, d->block_ts, &f,
				  &d->block_trace);
}

/* A header-block frame's payload, whole: its fragment joins the block. */
static void block_frame(struct h2_tracker *t, struct h2_conn *c, uint32_t fc)
{
	struct h2_dir *d = &c->d[fc];
	const uint8_t *p = d->payload.b;
	size_t n = d->payload.len, off = 0, pad = 0;
	if (d->type == OBSBPF_H2_CONTINUATION) {
		if (!d->in_block || d->stream != d->block_stream) {
			h2_conn_drop(t, c, H2_DROP_SEQUENCE);
			return;
		}
	} else {
		if (d->flags & OBSBPF_H2_F_PADDED) {
			if (n < 1) {
				h2_conn_drop(t, c, H2_DROP_SEQUENCE);
				return;
			}
			pad = p[0];
			off = 1;
		}
		if (d->type == OBSBPF_H2_HEADERS && (d->flags & OBSBPF_H2_F_PRIORITY))
			off += 5; /* stream dependency and weight */
		if (d->type == OBSBPF_H2_PUSH_PROMISE)
			off += 4; /* the promised stream id */
		d->in_block = true;
		d->block_type = d->type;
		d->block_stream = d->stream;
		d->block_end_stream = d->type == OBSBPF_H2_HEADERS && (d->flags & OBSBPF_H2_F_END_STREAM);
		d->block_ts = d->frame_ts;
		d->block_trace = d->frame_trace;
		d->block.len = 0;
	}
	if (off + pad > n) {
		h2_conn_drop(t, c, H2_DROP_MALFORMED);
		return;
	}
	/* An empty fragment (a HEADERS frame of length 0) adds nothing: p may be NULL then. */
	int rc = n - off - pad ? h2_bytes_add(&d->block, p + off, n - off - pad, t->lim.max_block) : 0;
	if (rc < 0) {
		h2_conn_drop(t, c, H2_DROP_BLOCK);
		return;
	}
	if (d->flags & OBSBPF_H2_F_END_HEADERS)
		block_done(t, c, fc);
}

static void frame_done(struct h2_tracker *t, struct h2_conn *c, uint32_t fc)
{
	struct h2_dir *d = &c->d[fc];
	d->collecting = false;
	if (d->type == OBSBPF_H2_SETTINGS)
		settings(t, c, fc, d->payload.b, d->payload.len);
	else
		block_frame(t, c, fc);
}

/* The chunk of e joins the frame being collected. */
static void add_chunk(struct h2_tracker *t, struct h2_conn *c, uint32_t fc, const struct obsbpf_h2_event *e)
{
	struct h2_dir *d = &c->d[fc];
	/* Chunks of a frame come in order and touch: anything else is a lost piece. */
	if (e->off != d->payload.len || e->seq != d->seq0 + e->off || e->len > OBSBPF_H2_CHUNK ||
	    e->off + e->len > d->frame_len) {
		h2_conn_drop(t, c, H2_DROP_EVENTS);
		return;
	}
	/* A frame may be as long as 16 MiB; only header blocks and settings are collected, and a
	 * block is bounded as a whole. */
	if (h2_bytes_add(&d->payload, e->data, e->len, t->lim.max_block) < 0) {
		h2_conn_drop(t, c, H2_DROP_BLOCK);
		return;
	}
	if (d->payload.len == d->frame_len)
		frame_done(t, c, fc);
}

void h2_frame_event(struct h2_tracker *t, struct h2_conn *c, const struct obsbpf_h2_event *e)
{
	uint32_t fc = e->from_client & 1;
	struct h2_dir *d = &c->d[fc];
	if (e->kind == OBSBPF_H2_EV_MORE) {
		if (!d->collecting || e->type != d->type)
			h2_conn_drop(t, c, H2_DROP_EVENTS);
		else
			add_chunk(t, c, fc, e);
		return;
	}
	/* A new frame. The last one's payload must have come whole, and inside a header block
	 * only CONTINUATION may follow. */
	if (d->collecting || e->off != 0 || (d->in_block && e->type != OBSBPF_H2_CONTINUATION)) {
		h2_conn_drop(t, c, d->collecting || e->off ? H2_DROP_EVENTS : H2_DROP_SEQUENCE);
		return;
	}
	d->type = e->type;
	d->flags = e->flags;
	d->stream = e->stream;
	d->frame_len = e->frame_len;
	d->frame_ts = e->ts_ns;
	d->frame_trace = e->trace;
	d->seq0 = e->seq;
	switch (e->type) {
	case OBSBPF_H2_DATA:
		if (e->flags & OBSBPF_H2_F_END_STREAM)
			h2_stream_data_end(t, c, fc, e->stream, e->ts_ns);
		return;
	case OBSBPF_H2_RST_STREAM:
		if (e->len >= 4)
			h2_stream_reset(t, c, e->stream, be32(e->data), e->ts_ns);
		return;
	case OBSBPF_H2_GOAWAY:
		return;
	}
	if (!collected(e->type, e->flags))
		return;
	d->collecting = true;
	d->payload.len = 0;
	if (e->frame_len == 0) {
		frame_done(t, c, fc);
		return;
	}
	add_chunk(t, c, fc, e);
}
