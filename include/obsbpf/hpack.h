/* SPDX-License-Identifier: GPL-2.0 */
/* HPACK (RFC 7541) as the kernel reads and writes it, with no table and no decoder.
 *
 * Writing: the trace fields sk_msg appends to a request's header block, each a "literal field
 * without indexing, new name" with raw (not Huffman) strings: decoders add nothing to their
 * dynamic table for it, so no encoder or decoder state is needed to write one.
 *
 * Reading: finds a W3C traceparent in an HPACK header block without decoding the block: the
 * representations are walked (indexed fields and table size updates skipped, literal names
 * skipped), and each literal value is checked: raw, or Huffman-coded with the 17 codes a
 * traceparent can use (hex digits and '-', 5 and 6 bits; RFC 7541 Appendix B). What no scan
 * can see is a field taken whole from the dynamic table (the same value sent twice); the kernel
 * side, which this serves, says so where it matters. Shared by the BPF programs (sk_msg, tc)
 * and the agent's unit tests, which check it against nghttp2's encoder. The block lies in a
 * buffer of OBSBPF_HPACK_SCAN_BUF bytes followed by at least OBSBPF_HPACK_SLACK readable
 * bytes; indices are masked, so that the verifier checks one bound per read. */
#ifndef OBSBPF_HPACK_H
#define OBSBPF_HPACK_H

#include "trace_parse.h"

/* The fields as written: 0x00, name length, name, value length, value. */
#define OBSBPF_H2_TRACEPARENT_LEN (2 + 11 + 1 + OBSBPF_TRACEPARENT_LEN) /* traceparent */
#define OBSBPF_H2_B3_LEN	  (2 + 2 + 1 + 51)			/* b3: <t>-<s>-<1|0> */
#define OBSBPF_H2_XTRACE_LEN	  (2 + 10 + 1 + 32 + 2 + 9 + 1 + 16)	/* x-trace-id, x-span-id */
#define OBSBPF_H2_XPARENT_LEN	  (2 + 13 + 1 + 16)			/* x-parent-span */

#define OBSBPF_HPACK_SCAN_BUF 1024 /* power of two: block bytes scanned */
#define OBSBPF_HPACK_SLACK    64   /* readable bytes after the buffer (a value read whole) */
#define OBSBPF_HPACK_FIELDS   64   /* representations walked per block */
/* A traceparent's 55 characters Huffman-coded take 275 to 330 bits. */
#define OBSBPF_HUFF_TP_MIN 35
#define OBSBPF_HUFF_TP_MAX 42

struct obsbpf_hpack_scan {
	__u32 i;     /* next byte of the block */
	__u32 n;     /* block bytes in the buffer (at most OBSBPF_HPACK_SCAN_BUF) */
	__u32 done;  /* the walk ended: the block's end, a value found, or an unreadable field */
	__u32 found; /* a valid traceparent: t (trace_id, parent_id, flags) */
	__u32 whole; /* the walk reached the block's end (or a found value) reading every field */
	__u32 bit;   /* obsbpf_huff_traceparent's position: in memory, which the verifier does not
		      * follow, so that each step is one state for it whatever the codes' lengths */
	struct obsbpf_trace t;
	__u8 val[64]; /* a Huffman-coded value, decoded */
};

/* The character of the next 6 bits of a Huffman-coded traceparent, 0 when no traceparent
 * character's code starts there. Codes of 5 bits fill two slots. */
static const __u8 obsbpf_huff_tp6[64] = {
	[0] = '0',  [1] = '0',	[2] = '1',  [3] = '1',	[4] = '2',  [5] = '2',	[6] = 'a',  [7] = 'a',
	[8] = 'c',  [9] = 'c',	[10] = 'e', [11] = 'e', [22] = '-', [25] = '3', [26] = '4', [27] = '5',
	[28] = '6', [29] = '7', [30] = '8', [31] = '9', [35] = 'b', [36] = 'd', [37] = 'f',
};

#define OBSBPF_HPACK_MASK (OBSBPF_HPACK_SCAN_BUF - 1)

/* A block's first bytes with the scan's state: the tc scratch buffer holds one, and sk_msg one
 * per client connection (socket storage: sk_msg may be preempted, a per-CPU one is unsafe). */
struct obsbpf_hpack_buf {
	__u8 b[OBSBPF_HPACK_SCAN_BUF];
	__u8 slack[OBSBPF_HPACK_SLACK];
	struct obsbpf_hpack_scan s;
	__u64 key[2]; /* sk_msg: a map key kept off the stack (6.1 allows 512 bytes for all frames) */
};

/* An HPACK integer with a bits-bit prefix at *pi (RFC 7541 5.1), advancing *pi. At most four
 * continuation bytes (values up to 2^28). -1 when it does not end within n bytes. */
static __always_inline int obsbpf_hpack_int(const __u8 *b, __u32 n, __u32 *pi, __u32 bits)
{
	__u32 i = *pi;
	if (i >= n)
		return -1;
	__u32 mask = (1u << bits) - 1;
	__u32 v = b[i & OBSBPF_HPACK_MASK] & mask;
	i++;
	if (v == mask) {
		__u32 m = 0, end = 0;
		for (int k = 0; k < 4; k++) {
			if (i >= n)
				return -1;
			__u8 c = b[i & OBSBPF_HPACK_MASK];
			i++;
			v += (__u32)(c & 0x7f) << m;
			m += 7;
			if (!(c & 0x80)) {
				end = 1;
				break;
			}
		}
		if (!end)
			return -1;
	}
	*pi = i;
	return (int)(v & 0x7fffffff);
}

/* The len bytes at v, Huffman-coded, decoded into s->val as the 55 characters of a traceparent.
 * v has len + 1 bytes readable. Returns 0, or -1 when they are something else. */
static __always_inline int obsbpf_huff_traceparent(const __u8 *v, __u32 len, struct obsbpf_hpack_scan *s)
{
	__u32 total = len * 8;
	if (len < OBSBPF_HUFF_TP_MIN || len > OBSBPF_HUFF_TP_MAX)
		return -1;
	s->bit = 0;
	for (int k = 0; k < OBSBPF_TRACEPARENT_LEN; k++) {
		/* volatile: read back from memory, not kept in a register by the compiler. */
		__u32 bit = *(volatile __u32 *)&s->bit;
		__u32 at = (bit >> 3) & 63, sh = bit & 7;
		__u32 w = (__u32)v[at] << 8 | v[at + 1];
		__u32 x = (w >> (10 - sh)) & 0x3f;
		__u8 ch = obsbpf_huff_tp6[x];
		__u32 l = x < 12 ? 5 : 6;
		if (!ch || bit + l > total)
			return -1;
		s->val[k] = ch;
		s->bit = bit + l;
	}
	__u32 bit = s->bit;
	/* What is left is padding: fewer than 8 bits, all ones (the EOS code's prefix). */
	__u32 rem = total - bit;
	if (rem >= 8)
		return -1;
	if (rem) {
		__u8 last = v[(len - 1) & 63];
		__u8 ones = (__u8)((1u << rem) - 1);
		if ((last & ones) != ones)
			return -1;
	}
	return 0;
}

/* A literal value of len bytes at the block's offset i, coded if huff: whether it is a valid
 * traceparent (then in s->t). */
static __always_inline int obsbpf_hpack_value(const __u8 *b, struct obsbpf_hpack_scan *s, __u32 i, __u32 len,
					      __u32 huff)
{
	const __u8 *v = b + (i & OBSBPF_HPACK_MASK);
	if (!huff)
		return len == OBSBPF_TRACEPARENT_LEN && obsbpf_parse_traceparent(v, len, &s->t) == 0;
	return obsbpf_huff_traceparent(v, len, s) == 0 &&
		obsbpf_parse_traceparent(s->val, OBSBPF_TRACEPARENT_LEN, &s->t) == 0;
}

/* BPF programs read integers and check values in global subprograms of their own (verified
 * once, not in every path of the walk): they define OBSBPF_HPACK_INT and OBSBPF_HPACK_VALUE
 * before including this file. The position lives in s->i, in memory. */
static __always_inline int obsbpf_hpack_int_at(const __u8 *b, struct obsbpf_hpack_scan *s, __u32 bits)
{
	return obsbpf_hpack_int(b, s->n, &s->i, bits);
}
#ifndef OBSBPF_HPACK_INT
#define OBSBPF_HPACK_INT obsbpf_hpack_int_at
#endif
#ifndef OBSBPF_HPACK_VALUE
#define OBSBPF_HPACK_VALUE obsbpf_hpack_value
#endif

/* One representation of the block at s->i. Sets s->done at the end of the walk. */
static __always_inline void obsbpf_hpack_step(const __u8 *b, struct obsbpf_hpack_scan *s)
{
	if (s->done)
		return;
	if (s->i >= s->n) {
		s->done = 1;
		s->whole = 1;
		return;
	}
	__u8 c = b[s->i & OBSBPF_HPACK_MASK];
	int v;
	if (c & 0x80) { /* indexed field */
		v = OBSBPF_HPACK_INT(b, s, 7);
	} else if ((c & 0xe0) == 0x20) { /* dynamic table size update */
		v = OBSBPF_HPACK_INT(b, s, 5);
	} else {
		/* A literal, with incremental indexing (6-bit index) or without / never indexed (4). */
		v = OBSBPF_HPACK_INT(b, s, (c & 0xc0) == 0x40 ? 6 : 4);
		if (v == 0) { /* a literal name: skipped */
			v = OBSBPF_HPACK_INT(b, s, 7);
			if (v >= 0 && (__u32)v > s->n - s->i)
				v = -1;
			if (v >= 0)
				s->i += (__u32)v;
		}
		if (v >= 0 && s->i >= s->n)
			v = -1;
		if (v >= 0) {
			__u32 huff = b[s->i & OBSBPF_HPACK_MASK] & 0x80;
			v = OBSBPF_HPACK_INT(b, s, 7);
			if (v >= 0 && (__u32)v > s->n - s->i)
				v = -1;
			if (v >= 0 && OBSBPF_HPACK_VALUE(b, s, s->i, (__u32)v, huff)) {
				s->found = 1;
				s->whole = 1;
				s->done = 1;
				return;
			}
			if (v >= 0)
				s->i += (__u32)v;
		}
	}
	/* A field that runs past the bytes at hand (a block longer than the buffer), or broken. */
	if (v < 0)
		s->done = 1;
}

/* Writes a literal field without indexing with a new name (RFC 7541 6.2.2), raw strings of
 * fewer than 127 bytes (one-byte lengths): the name at o, returns where the value goes. */
static __always_inline __u8 *obsbpf_hpack_name(__u8 *o, const char *name, __u32 nlen, __u32 vlen)
{
	o[0] = 0x00;
	o[1] = (__u8)nlen;
	for (__u32 i = 0; i < nlen; i++)
		o[2 + i] = (__u8)name[i];
	o[2 + nlen] = (__u8)vlen;
	return o + 3 + nlen;
}

/* traceparent: 00-<trace>-<span>-<flags> (OBSBPF_H2_TRACEPARENT_LEN bytes). */
static __always_inline void obsbpf_fmt_h2_traceparent(__u8 *o, const struct obsbpf_trace *t)
{
	__u8 *v = obsbpf_hpack_name(o, "traceparent", 11, OBSBPF_TRACEPARENT_LEN);
	v[0] = '0';
	v[1] = '0';
	v[2] = '-';
	obsbpf_hex_encode(v + 3, t->trace_id, 16);
	v[35] = '-';
	obsbpf_hex_encode(v + 36, t->span_id, 8);
	v[52] = '-';
	v[53] = '0';
	v[54] = (__u8)('0' + (t->flags & OBSBPF_TRACE_SAMPLED));
}

/* b3: <trace>-<span>-<1|0> (OBSBPF_H2_B3_LEN bytes). */
static __always_inline void obsbpf_fmt_h2_b3(__u8 *o, const struct obsbpf_trace *t)
{
	__u8 *v = obsbpf_hpack_name(o, "b3", 2, 51);
	obsbpf_hex_encode(v, t->trace_id, 16);
	v[32] = '-';
	obsbpf_hex_encode(v + 33, t->span_id, 8);
	v[49] = '-';
	v[50] = (__u8)('0' + (t->flags & OBSBPF_TRACE_SAMPLED));
}

/* x-trace-id: <trace>, x-span-id: <span> (OBSBPF_H2_XTRACE_LEN bytes). */
static __always_inline void obsbpf_fmt_h2_xtrace(__u8 *o, const struct obsbpf_trace *t)
{
	__u8 *v = obsbpf_hpack_name(o, "x-trace-id", 10, 32);
	obsbpf_hex_encode(v, t->trace_id, 16);
	v = obsbpf_hpack_name(v + 32, "x-span-id", 9, 16);
	obsbpf_hex_encode(v, t->span_id, 8);
}

/* x-parent-span: <parent> (OBSBPF_H2_XPARENT_LEN bytes). */
static __always_inline void obsbpf_fmt_h2_xparent(__u8 *o, const struct obsbpf_trace *t)
{
	__u8 *v = obsbpf_hpack_name(o, "x-parent-span", 13, 16);
	obsbpf_hex_encode(v, t->parent_id, 8);
}

#endif
