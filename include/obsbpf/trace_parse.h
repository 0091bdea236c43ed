/* SPDX-License-Identifier: GPL-2.0 */
/* Trace header values: parsing the incoming ones and formatting the injected ones, shared by the
 * BPF programs (sk_msg, tc) and the agent's unit tests. The caller guarantees that the bytes a
 * function reads are there (the constant lengths below) and passes the value's real length, so
 * every index is constant and the verifier checks one bound per call. */
#ifndef OBSBPF_TRACE_PARSE_H
#define OBSBPF_TRACE_PARSE_H

#include "types.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>" */
#define OBSBPF_TRACEPARENT_LEN 55
/* "<32 hex trace id>-<16 hex span id>" and optional "-<sampled>[-<16 hex parent>]" */
#define OBSBPF_B3_MIN 49 /* without the optional fields */
/* x-trace-id: 32 hex; x-span-id / x-parent-span: 16 hex */
#define OBSBPF_XTRACE_ID_LEN 32
#define OBSBPF_XSPAN_ID_LEN  16

/* Header lines as injected, CRLF included. */
#define OBSBPF_HDR_TRACEPARENT_LEN (13 + OBSBPF_TRACEPARENT_LEN + 2) /* "traceparent: " */
#define OBSBPF_HDR_XTRACE_LEN	   (12 + 32 + 2)		     /* "x-trace-id: " */
#define OBSBPF_HDR_XSPAN_LEN	   (11 + 16 + 2)		     /* "x-span-id: " */
#define OBSBPF_HDR_XPARENT_LEN	   (15 + 16 + 2)		     /* "x-parent-span: " */
#define OBSBPF_HDR_B3_LEN	   (4 + 32 + 1 + 16 + 2 + 2)	     /* "b3: <t>-<s>-<1|0>" */

/* A lowercase hex digit's value plus one, 0 for any other byte (W3C and B3 ids are
 * lowercase). A table, not comparisons: the verifier walks each branch as a path of its own,
 * and clang turns even branch-free arithmetic back into branches. */
static const __u8 obsbpf_hex_tab[256] = {
	['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* Decodes 2*n hex digits into n bytes; -1 on a non-hex digit, else 1 if any byte is non-zero
 * (all-zero ids are invalid everywhere), 0 if all are zero. */
static __always_inline int obsbpf_hex_decode(const __u8 *s, __u8 *out, int n)
{
	__u32 any = 0, bad = 0;
	for (int i = 0; i < n; i++) {
		__u32 hi = obsbpf_hex_tab[s[2 * i]], lo = obsbpf_hex_tab[s[2 * i + 1]];
		/* A 0 (not a digit) minus one sets bit 8. */
		bad |= (hi - 1) | (lo - 1);
		out[i] = (__u8)(((hi - 1) & 15) << 4 | ((lo - 1) & 15));
		any |= out[i];
	}
	if (bad & ~15u)
		return -1;
	return any ? 1 : 0;
}

static __always_inline __u8 obsbpf_hexdigit(__u8 n)
{
	/* Branch-free: 'a' - '0' - 10 = 39 is added for n > 9. */
	return (__u8)('0' + n + (((9 - (int)n) >> 31) & 39));
}

static __always_inline void obsbpf_hex_encode(__u8 *out, const __u8 *in, int n)
{
	for (int i = 0; i < n; i++) {
		out[2 * i] = obsbpf_hexdigit(in[i] >> 4);
		out[2 * i + 1] = obsbpf_hexdigit(in[i] & 15);
	}
}

/* W3C traceparent (Trace Context level 1, section 3.2). v points at the value (after the colon
 * and spaces) with OBSBPF_TRACEPARENT_LEN bytes readable; len is the value's length without
 * trailing whitespace. Fills trace_id, parent_id (the caller's span) and flags; returns 0, or -1
 * when the value is invalid (to be treated as absent). */
static __always_inline int obsbpf_parse_traceparent(const __u8 *v, __u32 len, struct obsbpf_trace *t)
{
	__u8 ver[1];
	if (len < OBSBPF_TRACEPARENT_LEN || obsbpf_hex_decode(v, ver, 1) < 0 || ver[0] == 0xff)
		return -1;
	/* Version 00 is exactly 55 bytes; a later version may append "-..." fields. */
	if ((ver[0] == 0 && len != OBSBPF_TRACEPARENT_LEN) ||
	    (len > OBSBPF_TRACEPARENT_LEN && v[OBSBPF_TRACEPARENT_LEN] != '-'))
		return -1;
	if (v[2] != '-' || v[35] != '-' || v[52] != '-')
		return -1;
	if (obsbpf_hex_decode(v + 3, t->trace_id, 16) <= 0 || obsbpf_hex_decode(v + 36, t->parent_id, 8) <= 0)
		return -1;
	__u8 fl[1];
	if (obsbpf_hex_decode(v + 53, fl, 1) < 0)
		return -1;
	t->flags = fl[0] & OBSBPF_TRACE_SAMPLED;
	return 0;
}

/* B3 single header "{trace}-{span}[-{sampling}[-{parent}]]" with a 128-bit trace id. v has
 * OBSBPF_B3_MIN + 2 bytes readable. Sampling "1" or "d" (debug) samples, "0" does not, absent
 * defers (sampled: the request was traced upstream). Returns 0 or -1. */
static __always_inline int obsbpf_parse_b3(const __u8 *v, __u32 len, struct obsbpf_trace *t)
{
	if (len < OBSBPF_B3_MIN || v[32] != '-')
		return -1;
	if (obsbpf_hex_decode(v, t->trace_id, 16) <= 0 || obsbpf_hex_decode(v + 33, t->parent_id, 8) <= 0)
		return -1;
	t->flags = OBSBPF_TRACE_SAMPLED;
	if (len == OBSBPF_B3_MIN)
		return 0;
	if (v[49] != '-' || len < OBSBPF_B3_MIN + 2 || (len > OBSBPF_B3_MIN + 2 && v[51] != '-'))
		return -1;
	if (v[50] == '0')
		t->flags = 0;
	else if (v[50] != '1' && v[50] != 'd')
		return -1;
	return 0;
}

/* x-trace-id (32 hex, or 16 hex: zero-extended as W3C says for 64-bit ids) into t->trace_id.
 * v has OBSBPF_XTRACE_ID_LEN bytes readable. */
static __always_inline int obsbpf_parse_xtrace_id(const __u8 *v, __u32 len, struct obsbpf_trace *t)
{
	if (len == OBSBPF_XTRACE_ID_LEN)
		return obsbpf_hex_decode(v, t->trace_id, 16) > 0 ? 0 : -1;
	if (len == OBSBPF_XTRACE_ID_LEN / 2) {
		for (int i = 0; i < 8; i++)
			t->trace_id[i] = 0;
		return obsbpf_hex_decode(v, t->trace_id + 8, 8) > 0 ? 0 : -1;
	}
	return -1;
}

/* x-span-id (16 hex): the caller's span, our parent. v has 16 bytes readable. */
static __always_inline int obsbpf_parse_xspan_id(const __u8 *v, __u32 len, struct obsbpf_trace *t)
{
	if (len != OBSBPF_XSPAN_ID_LEN)
		return -1;
	return obsbpf_hex_decode(v, t->parent_id, 8) > 0 ? 0 : -1;
}

/* Writes "traceparent: 00-<trace>-<span>-<flags>\r\n" (OBSBPF_HDR_TRACEPARENT_LEN bytes). */
static __always_inline void obsbpf_fmt_traceparent(__u8 *o, const struct obsbpf_trace *t)
{
	const char pre[] = "traceparent: 00-";
	for (int i = 0; i < 16; i++)
		o[i] = (__u8)pre[i];
	obsbpf_hex_encode(o + 16, t->trace_id, 16);
	o[48] = '-';
	obsbpf_hex_encode(o + 49, t->span_id, 8);
	o[65] = '-';
	o[66] = '0';
	o[67] = (__u8)('0' + (t->flags & OBSBPF_TRACE_SAMPLED)); /* no branch: a path less */
	o[68] = '\r';
	o[69] = '\n';
}

/* Writes "b3: <trace>-<span>-<1|0>\r\n" (OBSBPF_HDR_B3_LEN bytes). */
static __always_inline void obsbpf_fmt_b3(__u8 *o, const struct obsbpf_trace *t)
{
	o[0] = 'b';
	o[1] = '3';
	o[2] = ':';
	o[3] = ' ';
	obsbpf_hex_encode(o + 4, t->trace_id, 16);
	o[36] = '-';
	obsbpf_hex_encode(o + 37, t->span_id, 8);
	o[53] = '-';
	o[54] = (__u8)('0' + (t->flags & OBSBPF_TRACE_SAMPLED));
	o[55] = '\r';
	o[56] = '\n';
}

/* Writes "x-trace-id: <trace>\r\nx-span-id: <span>\r\n" (OBSBPF_HDR_XTRACE_LEN +
 * OBSBPF_HDR_XSPAN_LEN bytes). */
static __always_inline void obsbpf_fmt_xtrace(__u8 *o, const struct obsbpf_trace *t)
{
	const char a[] = "x-trace-id: ";
	const char b[] = "x-span-id: ";
	for (int i = 0; i < 12; i++)
		o[i] = (__u8)a[i];
	obsbpf_hex_encode(o + 12, t->trace_id, 16);
	o[44] = '\r';
	o[45] = '\n';
	for (int i = 0; i < 11; i++)
		o[46 + i] = (__u8)b[i];
	obsbpf_hex_encode(o + 57, t->span_id, 8);
	o[73] = '\r';
	o[74] = '\n';
}

/* Writes "x-parent-span: <parent>\r\n" (OBSBPF_HDR_XPARENT_LEN bytes). */
static __always_inline void obsbpf_fmt_xparent(__u8 *o, const struct obsbpf_trace *t)
{
	const char a[] = "x-parent-span: ";
	for (int i = 0; i < 15; i++)
		o[i] = (__u8)a[i];
	obsbpf_hex_encode(o + 15, t->parent_id, 8);
	o[31] = '\r';
	o[32] = '\n';
}

#endif
