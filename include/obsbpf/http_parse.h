/* SPDX-License-Identifier: GPL-2.0 */
/* HTTP/1.x start-line parsing shared by the BPF programs and the agent's unit tests.
 * Every loop has a constant bound and every index is masked, so the verifier accepts it;
 * the same code runs in cmocka tests on the host. Input: the first OBSBPF_LINE_BUF bytes of a
 * message copied into b, `len` of them valid. */
#ifndef OBSBPF_HTTP_PARSE_H
#define OBSBPF_HTTP_PARSE_H

#include "types.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define OBSBPF_LINE_BUF 128 /* power of two: indices are masked with OBSBPF_LINE_BUF - 1 */
#define OBSBPF_IDX(i)	((i) & (OBSBPF_LINE_BUF - 1))

#define OBSBPF_FNV_BASIS 2166136261u
#define OBSBPF_FNV_PRIME 16777619u

static __always_inline int obsbpf_prefix(const __u8 *b, __u32 len, const char *s, __u32 n)
{
	if (len < n)
		return 0;
	for (__u32 i = 0; i < n && i < 16; i++)
		if (b[OBSBPF_IDX(i)] != (__u8)s[i])
			return 0;
	return 1;
}

/* Returns the method of a request line ("GET /x HTTP/1.1") and sets *target to the index of
 * the request target; -1 when b does not start like an HTTP/1.x request. */
static __always_inline int obsbpf_parse_method(const __u8 *b, __u32 len, __u32 *target)
{
	int m = -1;
	__u32 n = 0;

	if (len < 5)
		return -1;
	switch (b[0]) {
	case 'G':
		if (obsbpf_prefix(b, len, "GET ", 4)) {
			m = OBSBPF_M_GET;
			n = 4;
		}
		break;
	case 'H':
		if (obsbpf_prefix(b, len, "HEAD ", 5)) {
			m = OBSBPF_M_HEAD;
			n = 5;
		}
		break;
	case 'P':
		if (obsbpf_prefix(b, len, "POST ", 5)) {
			m = OBSBPF_M_POST;
			n = 5;
		} else if (obsbpf_prefix(b, len, "PUT ", 4)) {
			m = OBSBPF_M_PUT;
			n = 4;
		} else if (obsbpf_prefix(b, len, "PATCH ", 6)) {
			m = OBSBPF_M_PATCH;
			n = 6;
		}
		break;
	case 'D':
		if (obsbpf_prefix(b, len, "DELETE ", 7)) {
			m = OBSBPF_M_DELETE;
			n = 7;
		}
		break;
	case 'C':
		if (obsbpf_prefix(b, len, "CONNECT ", 8)) {
			m = OBSBPF_M_CONNECT;
			n = 8;
		}
		break;
	case 'O':
		if (obsbpf_prefix(b, len, "OPTIONS ", 8)) {
			m = OBSBPF_M_OPTIONS;
			n = 8;
		}
		break;
	case 'T':
		if (obsbpf_prefix(b, len, "TRACE ", 6)) {
			m = OBSBPF_M_TRACE;
			n = 6;
		}
		break;
	}
	if (m < 0 || n >= len)
		return -1;
	/* A request target is origin-form "/...", absolute-form "http...", authority-form (CONNECT)
	 * or "*"; a space or control byte here means this is not a request line. */
	__u8 c = b[OBSBPF_IDX(n)];
	if (c <= ' ' || c >= 0x7f)
		return -1;
	*target = n;
	return m;
}

/* Whether the len (< 8) bytes at b (8 readable) could be the start of a request line, too
 * short to tell: "G", "GE", "GET", "POS"... A connection whose first send is such a fragment is
 * not classified as non-HTTP on it. Word compares without branches: the verifier walks every
 * branch as a path. */
static __always_inline int obsbpf_method_prefix(const __u8 *b, __u32 len)
{
	/* "METHOD " as little-endian words (the first 8 bytes of each; all fit but OPTIONS/CONNECT). */
	static const __u64 words[9] = {
		0x20544547ull,	       /* "GET " */
		0x2044414548ull,       /* "HEAD " */
		0x2054534f50ull,       /* "POST " */
		0x20545550ull,	       /* "PUT " */
		0x204843544150ull,     /* "PATCH " */
		0x204554454c4544ull,   /* "DELETE " */
		0x205443454e4e4f43ull, /* "CONNECT " */
		0x20534e4f4954504full, /* "OPTIONS " */
		0x204543415254ull,     /* "TRACE " */
	};
	/* Their lengths: a word is zero past its end, so a NUL there would match ("PUT \0\0"). */
	static const __u8 lens[9] = { 4, 5, 5, 4, 6, 7, 8, 8, 6 };
	if (len == 0 || len >= 8)
		return 0;
	__u64 w = 0;
	for (int i = 0; i < 8; i++)
		w |= (__u64)b[i] << (8 * i);
	__u64 mask = (1ull << (8 * (len & 7))) - 1;
	__u64 any = 0;
	for (int m = 0; m < 9; m++) {
		__u64 x = (w ^ words[m]) & mask;
		__u64 fits = (((__u64)lens[m] - len) >> 63) ^ 1; /* 1 when len <= lens[m] */
		any |= (((x | (0 - x)) >> 63) ^ 1) & fits;	 /* 1 when x == 0 */
	}
	return (int)any;
}

/* Whether a request line ends in " HTTP/1.0" (1) or " HTTP/1.1" (2), else 0 (RFC 9112 3: the version is not
 * optional; "GET key\r\n" is Redis, not HTTP). t: the 10 bytes before the line's '\n'. */
static __always_inline int obsbpf_request_version_ok(const __u8 *t)
{
	/* A bare LF ends the line one byte later. clang ORs a 0/1 offset into an aligned stack
	 * address, which the verifier refuses: the offset is hidden from it. */
	__u32 o = t[9] != '\r';
	__asm__ __volatile__("" : "+r"(o)); /* unknown to clang: added, never OR-ed in */
	const char want[8] = { ' ', 'H', 'T', 'T', 'P', '/', '1', '.' };
	for (__u32 i = 0; i < 8; i++)
		if (t[i + o] != (__u8)want[i])
			return 0;
	return t[8 + o] == '0' ? 1 : t[8 + o] == '1' ? 2 : 0;
}

/* Returns the status code of "HTTP/1.x NNN ...", or -1. */
static __always_inline int obsbpf_parse_status(const __u8 *b, __u32 len)
{
	if (len < 12 || !obsbpf_prefix(b, len, "HTTP/1.", 7))
		return -1;
	if ((b[7] != '0' && b[7] != '1') || b[8] != ' ')
		return -1;
	int code = 0;
	for (int i = 9; i < 12; i++) {
		if (b[i] < '0' || b[i] > '9')
			return -1;
		code = code * 10 + (b[i] - '0');
	}
	if (code < 100 || code > 599 || (len > 12 && b[12] != ' ' && b[12] != '\r'))
		return -1;
	return code;
}

/* A TLS record starts with content type 0x16 (handshake) and version 3.x. */
static __always_inline int obsbpf_looks_like_tls(const __u8 *b, __u32 len)
{
	return len >= 3 && b[0] == 0x16 && b[1] == 0x03 && b[2] <= 0x04;
}

/* Segment classes for route templating: a path segment that is all digits, or all hex digits
 * and dashes mixing digits and letters (ids, UUIDs, hashes), becomes ":id". */
#define OBSBPF_SEG_NONEMPTY   1u
#define OBSBPF_SEG_NOT_DIGITS 2u
#define OBSBPF_SEG_NOT_HEX    4u
#define OBSBPF_SEG_HAS_DIGIT  8u
#define OBSBPF_SEG_HAS_ALPHA  16u

static __always_inline __u32 obsbpf_seg_update(__u32 f, __u8 c)
{
	f |= OBSBPF_SEG_NONEMPTY;
	if (c >= '0' && c <= '9')
		return f | OBSBPF_SEG_HAS_DIGIT;
	f |= OBSBPF_SEG_NOT_DIGITS;
	if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
		return f | OBSBPF_SEG_HAS_ALPHA;
	if (c == '-')
		return f;
	return f | OBSBPF_SEG_NOT_HEX;
}

static __always_inline int obsbpf_seg_is_id(__u32 f)
{
	if (!(f & OBSBPF_SEG_NONEMPTY))
		return 0;
	if (!(f & OBSBPF_SEG_NOT_DIGITS))
		return 1;
	return !(f & OBSBPF_SEG_NOT_HEX) && (f & OBSBPF_SEG_HAS_DIGIT) && (f & OBSBPF_SEG_HAS_ALPHA);
}

static __always_inline __u32 obsbpf_fnv(__u32 h, __u8 c)
{
	return (h ^ c) * OBSBPF_FNV_PRIME;
}

static __always_inline __u32 obsbpf_seg_close(__u32 h_before, __u32 h_literal, __u32 f)
{
	if (!obsbpf_seg_is_id(f))
		return h_literal;
	h_before = obsbpf_fnv(h_before, ':');
	h_before = obsbpf_fnv(h_before, 'i');
	return obsbpf_fnv(h_before, 'd');
}

/* Route hashing, one byte at a time: the state is what the loop carries between bytes. */
struct obsbpf_route_state {
	__u32 h;   /* hash of the templated path up to the current segment */
	__u32 seg; /* h continued over the current segment's literal bytes */
	__u32 f;   /* OBSBPF_SEG_* flags of the current segment */
};

static __always_inline void obsbpf_route_init(struct obsbpf_route_state *st)
{
	st->h = st->seg = OBSBPF_FNV_BASIS;
	st->f = 0;
}

/* True for the bytes that end a path: query, fragment, end of the request target. */
static __always_inline int obsbpf_route_end(__u8 c)
{
	return c == ' ' || c == '?' || c == '#' || c == '\r' || c == '\n';
}

static __always_inline void obsbpf_route_step(struct obsbpf_route_state *st, __u8 c)
{
	if (c == '/') {
		st->h = obsbpf_fnv(obsbpf_seg_close(st->h, st->seg, st->f), '/');
		st->seg = st->h;
		st->f = 0;
	} else {
		st->seg = obsbpf_fnv(st->seg, c);
		st->f = obsbpf_seg_update(st->f, c);
	}
}

/* The route id: two paths that template alike ("/users/17", "/users/42") get the same id.
 * 31-bit, so never OBSBPF_ROUTE_OVERFLOW. */
static __always_inline __u32 obsbpf_route_final(const struct obsbpf_route_state *st)
{
	return obsbpf_seg_close(st->h, st->seg, st->f) & 0x7fffffffu;
}

#ifndef __bpf__
/* Host twin of bpf/route.bpf.c's bpf_loop walk (same steps, plain loop): for tests and tools. */
static inline __u32 obsbpf_route_hash_host(const __u8 *b, __u32 len, __u32 start)
{
	struct obsbpf_route_state st;
	obsbpf_route_init(&st);
	for (__u32 i = 0; i < OBSBPF_ROUTE_LEN - 1 && start + i < len; i++) {
		if (obsbpf_route_end(b[start + i]))
			break;
		obsbpf_route_step(&st, b[start + i]);
	}
	return obsbpf_route_final(&st);
}
#endif

#endif
