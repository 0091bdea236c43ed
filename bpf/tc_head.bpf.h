/* SPDX-License-Identifier: GPL-2.0 */
/* The walk over an HTTP/1 message head that tc loaded into its scratch buffer: where the head
 * ends, the body's length, and the trace headers of the styles asked for. bpf/tc.bpf.c only. */
#ifndef OBSBPF_TC_HEAD_BPF_H
#define OBSBPF_TC_HEAD_BPF_H

#include "tc_buf.bpf.h"
#include "text.bpf.h"

/* Content-Length or Transfer-Encoding in the line at p (TRACE_LINE_BUF bytes readable). */
static __always_inline void body_line(const __u8 *p, __u32 linelen, struct tc_head *h)
{
	if (linelen >= 18 && name_is(p, "transfer-encoding:", 18)) {
		h->body = BODY_CHUNKED;
		return;
	}
	if (linelen < 16 || !name_is(p, "content-length:", 15) || h->body == BODY_CHUNKED)
		return;
	int i = 15;
	if (p[i] == ' ' || p[i] == '\t')
		i++;
	if (p[i] == ' ' || p[i] == '\t')
		i++;
	__s64 v = 0;
	int digits = 0;
	for (int k = 0; k < 19; k++) {
		__u8 d = p[i + k];
		if (d < '0' || d > '9')
			break;
		v = v * 10 + (d - '0');
		digits++;
	}
	if (digits)
		h->body = v;
}

/* One header line of a head: body length and trace headers. A global subprogram: verified
 * once, not for every way the scan can reach it. */
__noinline int obsbpf_tc_line(struct tc_buf *buf, __u32 start, __u32 linelen)
{
	if (!buf || start >= TC_HEAD_MAX)
		return 0;
	const __u8 *p = &buf->b[start];
	__u8 c = *p | 0x20;
	if (c == 'c' || c == 't')
		body_line(p, linelen, &buf->fd.h);
	if (buf->fd.props && (c == 't' || c == 'b' || c == 'x'))
		obsbpf_trace_line((struct trace_line *)p, linelen, buf->fd.props, &buf->fd.f);
	return 0;
}

/* One line end at i. Returns 1 at the head's empty line. */
static __always_inline int tc_line_end(struct tc_buf *buf, __u32 i)
{
	__u32 start = buf->start;
	buf->start = i + 1;
	if (start == 0) { /* the start line */
		buf->fd.h.first_nl = i;
		return 0;
	}
	if (i - start <= 1) { /* "\r\n" or "\n": the end of the head */
		buf->fd.h.head_end = i + 1;
		return 1;
	}
	obsbpf_tc_line(buf, start, i - start);
	return 0;
}

/* bpf_loop callback: eight bytes a step (word_has_nl). No context but the scratch buffer,
 * which it looks up itself: the verifier sees the same state at every step. */
static int tc_scan_word(__u32 w, void *unused)
{
	struct tc_buf *buf = scratch();
	if (!buf)
		return 1;
	__u32 at = w * 8, n = buf->n;
	if (at >= TC_HEAD_MAX - 7 || at >= n)
		return 1;
	__u64 x;
	__builtin_memcpy(&x, &buf->b[at], 8);
	if (!word_has_nl(x))
		return 0;
	for (int j = 0; j < 8; j++) {
		__u32 i = at + j;
		if (i >= n)
			return 1;
		if (buf->b[i] == '\n' && tc_line_end(buf, i))
			return 1;
	}
	return 0;
}

/* Whether the start line the walk found ends in "HTTP/1.0" (network.protocol.version). Out of
 * the walk's callback, where each branch would be verified again for every state. */
static __always_inline __u8 tc_head_http10(struct tc_buf *buf)
{
	/* Hidden from clang, which would drop the masks the verifier needs. */
	__u32 j = buf->fd.h.first_nl;
	__asm__ __volatile__("" : "+r"(j));
	if (j < 4 || j >= TC_HEAD_MAX)
		return 0;
	__u32 d = buf->b[(j - 1) & (TC_HEAD_MAX - 1)] == '\r' ? j - 2 : j - 1;
	__asm__ __volatile__("" : "+r"(d));
	return buf->b[d & (TC_HEAD_MAX - 1)] == '0' && buf->b[(d - 1) & (TC_HEAD_MAX - 1)] == '.';
}

/* Walks the message head in the first buf->n bytes of buf->b: its end, its body length and,
 * for the styles in props, its trace headers (into buf->fd). */
static __always_inline void tc_head_scan(struct tc_buf *buf, __u32 props)
{
	__builtin_memset(&buf->fd, 0, sizeof(buf->fd));
	buf->fd.props = props;
	buf->fd.h.body = BODY_UNKNOWN;
	buf->start = 0;
	bpf_loop(TC_HEAD_MAX / 8, tc_scan_word, NULL, 0);
}

/* Where the next message starts after the one at buf->off whose head was scanned, or 0 (stop). */
static __always_inline __u32 next_message(const struct tc_buf *buf, __s64 body)
{
	__u32 head_end = buf->fd.h.head_end;
	if (!head_end || body < 0 || body > 0x7fffffff)
		return 0;
	__u64 next = (__u64)buf->off + head_end + (__u64)body;
	return next < buf->len ? (__u32)next : 0;
}

#endif
