/* SPDX-License-Identifier: GPL-2.0 */
/* Scanning an HTTP/1.x message head inside sk_msg to find where it ends and how long the body
 * is. A per-byte loop over the whole head does not verify (too many states); instead two
 * global subprograms, verified once each, find a line end and classify a header line, and the
 * caller's loop is bounded by the number of lines (see docs/design.md). */
#ifndef OBSBPF_HEAD_SCAN_BPF_H
#define OBSBPF_HEAD_SCAN_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "text.bpf.h"
#include "trace.bpf.h"

#define HEAD_MAX       8192 /* bytes of head we look at; larger heads are passed unscanned */
#define HEAD_MAX_LINES 64
#define LINE_SCAN      1024 /* longest header line we follow */
#define OFF_MASK       0x3fff

struct head_info {
	__u32 head_len;	      /* bytes up to and including the empty line */
	__u32 first_nl;	      /* offset of the start line's '\n' */
	__u32 version_ok;     /* the request line ends in HTTP/1.0 (1) or HTTP/1.1 (2), else 0 */
	__u32 upgrade;	      /* an Upgrade header (WebSocket, h2c): wait for the answer */
	__s64 content_length; /* BODY_UNKNOWN or BODY_CHUNKED when not given by Content-Length */
};

/* Index of the first '\n' at or after off in the message's linear data, or -1. Eight bytes a
 * step (word_nl_index): a byte loop cost ~300 ns per head. */
/* The byte-at-a-time end of obsbpf_find_nl, fewer than eight bytes before data_end. Its own
 * global subprogram: reached from every step of the word loop, it is verified once. */
__noinline int obsbpf_find_nl_tail(struct sk_msg_md *msg, __u32 at)
{
	void *data = (void *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;

	for (int i = 0; i < 8; i++) {
		__u8 *p = data + ((at + i) & OFF_MASK);
		if ((void *)(p + 1) > end)
			return -1;
		if (*p == '\n')
			return (at + i) & OFF_MASK;
	}
	return -1;
}

__noinline int obsbpf_find_nl(struct sk_msg_md *msg, __u32 off)
{
	void *data = (void *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;

	if (off >= HEAD_MAX)
		return -1;
	__u32 at = off;
	for (int w = 0; w < LINE_SCAN / 8; w++) {
		__u8 *p = data + (at & OFF_MASK);
		if ((void *)(p + 8) > end)
			return obsbpf_find_nl_tail(msg, at);
		__u32 i = word_nl_index(*(__u64 *)p);
		if (i < 8)
			return (at + i) & OFF_MASK;
		at += 8;
	}
	return -1;
}

/* For the header line at off: its Content-Length (>= 0), BODY_CHUNKED for a
 * Transfer-Encoding, BODY_UNKNOWN for any other line. */
__noinline __s64 obsbpf_header_body_len(struct sk_msg_md *msg, __u32 off)
{
	void *data = (void *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;
	__u8 *p = data + (off & OFF_MASK);

	if ((void *)(p + 18) > end)
		return BODY_UNKNOWN;
	if ((p[0] | 0x20) == 't' && name_is(p, "transfer-encoding:", 18))
		return BODY_CHUNKED;
	if ((p[0] | 0x20) == 'u' && name_is(p, "upgrade:", 8))
		return HDR_UPGRADE;
	if ((p[0] | 0x20) != 'c' || !name_is(p, "content-length:", 15))
		return BODY_UNKNOWN;
	int i = 15;
	while (i < 18 && (p[i] == ' ' || p[i] == '\t'))
		i++;
	__s64 v = 0;
	int digits = 0;
	for (int k = 0; k < 19; k++) {
		__u8 *d = p + ((i + k) & 63);
		if ((void *)(d + 1) > end)
			return BODY_UNKNOWN;
		if (*d < '0' || *d > '9')
			break;
		v = v * 10 + (*d - '0');
		digits++;
	}
	return digits ? v : BODY_UNKNOWN;
}

/* Reads a trace header line into a buffer for the shared classifier (bpf/trace.bpf.c). A
 * global subprogram: its own stack frame, verified once. */
__noinline int obsbpf_msg_trace_line(struct sk_msg_md *msg, __u32 off, __u32 linelen, __u32 props,
				     struct trace_found *f)
{
	void *data = (void *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;
	__u8 *p = data + (off & OFF_MASK);
	struct trace_line l = {};

	if (!f || (void *)(p + 1) > end)
		return 0;
	__u8 c = *p | 0x20;
	if (c != 't' && c != 'b' && c != 'x')
		return 0;
	__u64 n = (__u64)(end - (void *)p);
	if (n > TRACE_LINE_BUF)
		n = TRACE_LINE_BUF;
	if (bpf_probe_read_kernel(l.b, n, p) < 0)
		return 0;
	return obsbpf_trace_line(&l, linelen, props, f);
}

/* Whether the request line ending at nl carries an HTTP/1.x version. */
__noinline int obsbpf_msg_version_ok(struct sk_msg_md *msg, __u32 nl)
{
	void *data = (void *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;
	__u8 t[10];

	if (nl < 10 || nl > HEAD_MAX)
		return 0;
	__u8 *p = data + ((nl - 10) & OFF_MASK);
	if ((void *)(p + 10) > end)
		return 0;
	__builtin_memcpy(t, p, 10);
	return obsbpf_request_version_ok(t);
}

/* What a scan of a request head found. */
struct msg_head {
	struct head_info hi;
	struct trace_found f;
};

/* Fills out->hi for the head at the start of msg, and out->f with the trace headers of the
 * styles in props (none when props is 0). Returns 0, or -1 when the head does not end within
 * the linear data or the scan budget. A global subprogram: verified once, not once for each
 * of the caller's paths to it (in line, that was 400k instructions). */
__noinline int obsbpf_scan_head(struct sk_msg_md *msg, __u32 props, struct msg_head *out)
{
	__u32 off = 0;
	int chunked = 0;

	if (!out)
		return -1;
	struct head_info *hi = &out->hi;
	hi->content_length = BODY_UNKNOWN;
	for (int l = 0; l < HEAD_MAX_LINES; l++) {
		int nl = obsbpf_find_nl(msg, off);
		if (nl < 0)
			return -1;
		__u32 linelen = (__u32)nl - off; /* includes a '\r' */
		if (l == 0) {
			hi->first_nl = (__u32)nl;
			hi->version_ok = obsbpf_msg_version_ok(msg, (__u32)nl);
		} else if (linelen <= 1) {
			hi->head_len = (__u32)nl + 1;
			if (chunked)
				hi->content_length = BODY_CHUNKED;
			return 0;
		} else {
			__s64 v = obsbpf_header_body_len(msg, off);
			if (v == BODY_CHUNKED)
				chunked = 1;
			else if (v == HDR_UPGRADE)
				hi->upgrade = 1;
			else if (v >= 0)
				hi->content_length = v;
			else if (props)
				obsbpf_msg_trace_line(msg, off, linelen, props, &out->f);
		}
		off = (__u32)nl + 1;
	}
	return -1;
}

#endif
