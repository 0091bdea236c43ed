/* SPDX-License-Identifier: GPL-2.0 */
/* HTTP/2 framing on tc (bpf/h2.bpf.c): global subprograms, verified once. */
#ifndef OBSBPF_H2_BPF_H
#define OBSBPF_H2_BPF_H

#include "conn.bpf.h"
#include <obsbpf/h2.h>

struct tc_buf; /* bpf/tc_buf.bpf.h */

/* The connection carries HTTP/2 from its first bytes (the client's preface, or the server's
 * SETTINGS): follow both directions from there. */
extern int obsbpf_h2_start(struct obsbpf_conn *c);

/* The segment in buf (buf->k, buf->len) of an HTTP/2 connection, from the client if
 * from_client: its frames are followed and handed on. */
extern int obsbpf_h2_segment(struct __sk_buff *skb, struct obsbpf_conn *c, struct tc_buf *buf,
			     __u32 from_client);

/* An HTTP/2 connection closed: one fewer open (h2_live), and user space is told, with the
 * status (enum obsbpf_no_response) its unanswered requests get. */
extern int obsbpf_h2_closed(struct obsbpf_conn *c, __u32 reason);

/* sk_msg: a send on an HTTP/2 client connection (bpf/h2_tx.bpf.c): its frames followed, trace
 * fields appended to its requests' header blocks. */
extern int obsbpf_h2_tx(struct sk_msg_md *msg, struct obsbpf_conn *c);

/* Scans hb's block (hb->s.n bytes) for a traceparent: 1 when found (hb->s.t). */
struct obsbpf_hpack_buf;
extern int obsbpf_hpack_scan(struct obsbpf_hpack_buf *hb);

/* Whether HTTP/2 connections are open (map h2_live). */
static __always_inline int h2_any_live(void)
{
	__u32 zero = 0;
	__s64 *n = bpf_map_lookup_elem(&h2_live, &zero);
	return n && *n > 0;
}

/* The first bytes of a stream, from the client: HTTP/2's connection preface. */
static __always_inline int h2_is_preface(const __u8 *b, __u32 len)
{
	const char *p = OBSBPF_H2_PREFACE;
	if (len < OBSBPF_H2_PREFACE_LEN)
		return 0;
	for (int i = 0; i < OBSBPF_H2_PREFACE_LEN; i++)
		if (b[i] != (__u8)p[i])
			return 0;
	return 1;
}

/* The first bytes of a stream, from the server: a SETTINGS frame header (stream 0, no flags,
 * a length that is a whole number of settings). A server with prior knowledge sends it first. */
static __always_inline int h2_is_server_settings(const __u8 *b, __u32 len)
{
	if (len < OBSBPF_H2_FRAME_HDR || b[3] != OBSBPF_H2_SETTINGS || b[4] != 0)
		return 0;
	__u32 flen = (__u32)b[0] << 16 | (__u32)b[1] << 8 | b[2];
	return flen % 6 == 0 && flen <= 6 * 16 && !(b[5] | b[6] | b[7] | b[8]);
}

#endif
