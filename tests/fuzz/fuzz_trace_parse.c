// SPDX-License-Identifier: GPL-2.0
/* The trace header value parsers the BPF programs run (include/obsbpf/trace_parse.h). Each
 * gets the value in a heap block of its documented readable size (the value's own bytes when
 * longer, as in the kernel's line buffer), zero-padded, so ASan sees a read past it. A value
 * that parses must format back (obsbpf_fmt_*) to the same ids and parse again. */
#include <string.h>

#include <obsbpf/trace_parse.h>

#include "fuzz.h"

static __u8 *value(const uint8_t *data, size_t size, size_t readable)
{
	__u8 *v = calloc(1, size > readable ? size : readable);
	FUZZ_CHECK(v);
	memcpy(v, data, size);
	return v;
}

static int nonzero(const __u8 *b, int n)
{
	int any = 0;
	for (int i = 0; i < n; i++)
		any |= b[i];
	return any != 0;
}

static void same_ids(const struct obsbpf_trace *a, const struct obsbpf_trace *b)
{
	FUZZ_CHECK(!memcmp(a->trace_id, b->trace_id, 16));
	FUZZ_CHECK(!memcmp(a->parent_id, b->parent_id, 8));
	FUZZ_CHECK(a->flags == b->flags);
}

static void check_traceparent(const uint8_t *data, __u32 len)
{
	__u8 *v = value(data, len, OBSBPF_TRACEPARENT_LEN);
	struct obsbpf_trace t = { 0 }, u = { 0 };
	if (obsbpf_parse_traceparent(v, len, &t) == 0) {
		FUZZ_CHECK(len >= OBSBPF_TRACEPARENT_LEN);
		FUZZ_CHECK(nonzero(t.trace_id, 16) && nonzero(t.parent_id, 8));
		FUZZ_CHECK(!(t.flags & ~OBSBPF_TRACE_SAMPLED));
		/* We continue the sender's trace: our header carries its ids (version 00). */
		__u8 hdr[OBSBPF_HDR_TRACEPARENT_LEN];
		memcpy(t.span_id, t.parent_id, 8);
		obsbpf_fmt_traceparent(hdr, &t);
		FUZZ_CHECK(!memcmp(hdr, "traceparent: 00-", 16) && !memcmp(hdr + 16, v + 3, 50));
		FUZZ_CHECK(obsbpf_parse_traceparent(hdr + 13, OBSBPF_TRACEPARENT_LEN, &u) == 0);
		same_ids(&t, &u);
	}
	free(v);
}

static void check_b3(const uint8_t *data, __u32 len)
{
	__u8 *v = value(data, len, OBSBPF_B3_MIN + 2);
	struct obsbpf_trace t = { 0 }, u = { 0 };
	if (obsbpf_parse_b3(v, len, &t) == 0) {
		FUZZ_CHECK(len >= OBSBPF_B3_MIN);
		FUZZ_CHECK(nonzero(t.trace_id, 16) && nonzero(t.parent_id, 8));
		__u8 hdr[OBSBPF_HDR_B3_LEN];
		memcpy(t.span_id, t.parent_id, 8);
		obsbpf_fmt_b3(hdr, &t);
		FUZZ_CHECK(!memcmp(hdr + 4, v, OBSBPF_B3_MIN));
		FUZZ_CHECK(obsbpf_parse_b3(hdr + 4, OBSBPF_B3_MIN + 2, &u) == 0);
		same_ids(&t, &u);
	}
	free(v);
}

static void check_x(const uint8_t *data, __u32 len)
{
	__u8 *v = value(data, len, OBSBPF_XTRACE_ID_LEN);
	struct obsbpf_trace t = { 0 };
	if (obsbpf_parse_xtrace_id(v, len, &t) == 0) {
		FUZZ_CHECK(len == 32 || len == 16);
		FUZZ_CHECK(nonzero(t.trace_id, 16));
		__u8 hdr[OBSBPF_HDR_XTRACE_LEN + OBSBPF_HDR_XSPAN_LEN];
		obsbpf_fmt_xtrace(hdr, &t);
		/* a 64-bit id is zero-extended: it goes out as 16 zeros and the id */
		FUZZ_CHECK(!memcmp(hdr + 12 + (32 - len), v, len));
	}
	free(v);
	v = value(data, len, OBSBPF_XSPAN_ID_LEN);
	memset(&t, 0, sizeof(t));
	if (obsbpf_parse_xspan_id(v, len, &t) == 0) {
		FUZZ_CHECK(len == 16 && nonzero(t.parent_id, 8));
		__u8 hdr[OBSBPF_HDR_XPARENT_LEN];
		obsbpf_fmt_xparent(hdr, &t);
		FUZZ_CHECK(!memcmp(hdr + 15, v, 16));
	}
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* value_at (bpf/trace.bpf.h) passes at most a line buffer's worth */
	__u32 len = size < 128 ? (__u32)size : 128;
	check_traceparent(data, len);
	check_b3(data, len);
	check_x(data, len);
	return 0;
}
