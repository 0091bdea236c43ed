// SPDX-License-Identifier: GPL-2.0
/* The HTTP/2 side of untrusted input: the agent's decoder (user/h2) on any sequence of the
 * kernel's events, and the kernel's HPACK scan (include/obsbpf/hpack.h) on any block.
 *
 * Events: the input is read as records (an 8-byte head and up to 255 data bytes): kind, side,
 * type, flags, a small stream id, the payload chunk; frame lengths, offsets and numbering follow
 * the input, right or wrong, so that lost events, frames out of order, HPACK blocks of any bytes
 * and limits are all reached. Exchanges must come out well-formed (NUL-terminated strings, end
 * not before start), the live count never exceeds the limit, and everything is freed.
 * The scan: the block in a buffer of exactly the kernel's size and slack (ASan sees a read past
 * it); a traceparent it reports must be valid, and in the block when it was raw. */
#include <string.h>

#include <obsbpf/hpack.h>

#include "fuzz.h"
#include "h2/h2.h"

static void on_x(void *arg, const struct h2_exchange *x)
{
	(void)arg;
	FUZZ_CHECK(memchr(x->method, 0, sizeof(x->method)) && memchr(x->path, 0, sizeof(x->path)));
	FUZZ_CHECK(memchr(x->authority, 0, sizeof(x->authority)));
	FUZZ_CHECK(memchr(x->grpc_message, 0, sizeof(x->grpc_message)));
	FUZZ_CHECK(x->end_ns >= x->start_ns);
	FUZZ_CHECK(h2_grpc_code_name(h2_grpc_status(x))[0]);
}

static void events(const uint8_t *data, size_t size)
{
	struct h2_limits l = { .max_conns = 3, .max_streams = 8, .max_block = 2048, .max_table = 8192 };
	struct h2_tracker *t = h2_tracker_new(&l, on_x, NULL);
	FUZZ_CHECK(t);
	uint32_t n[4][2] = { { 0 } }, seq[4][2] = { { 0 } };
	uint64_t ts = 1;
	while (size >= 8) {
		const uint8_t *h = data;
		size_t dl = h[7] < size - 8 ? h[7] : size - 8;
		struct obsbpf_h2_event e = { 0 };
		unsigned conn = h[0] & 3, fc = (h[0] >> 2) & 1;
		e.kind = (uint8_t)((h[0] >> 3) % 5);
		e.conn = 100 + conn;
		e.pod_id = conn & 1;
		e.dir = (uint8_t)fc;
		e.from_client = (uint8_t)fc;
		e.type = h[1] % 11;
		e.flags = h[2];
		e.stream = h[3] % 9;
		e.frame_len = h[4] & 0x80 ? dl : (uint32_t)h[4] * 3;
		e.off = (uint16_t)(h[5] & 0x80 ? 0 : h[5]);
		/* mostly numbered and placed as the kernel does; sometimes not */
		e.n = h[6] & 0x80 ? h[6] & 7 : ++n[conn][fc];
		e.seq = seq[conn][fc] + e.off;
		if (!(h[6] & 0x40))
			seq[conn][fc] += (uint32_t)dl;
		e.ts_ns = ts++;
		e.len = (uint16_t)dl;
		memcpy(e.data, data + 8, dl);
		h2_tracker_event(t, &e, h[6] == 0xff ? sizeof(e) - 1 : sizeof(e));
		FUZZ_CHECK(h2_tracker_stats(t)->conns <= 2 * l.max_conns);
		data += 8 + dl;
		size -= 8 + dl;
	}
	h2_tracker_forget_pod(t, 1);
	h2_tracker_free(t);
}

static void scan(const uint8_t *data, size_t size)
{
	static uint8_t *buf;
	if (!buf)
		FUZZ_CHECK(buf = malloc(OBSBPF_HPACK_SCAN_BUF + OBSBPF_HPACK_SLACK));
	size_t n = size < OBSBPF_HPACK_SCAN_BUF ? size : OBSBPF_HPACK_SCAN_BUF;
	memset(buf, 0, OBSBPF_HPACK_SCAN_BUF + OBSBPF_HPACK_SLACK);
	memcpy(buf, data, n);
	struct obsbpf_hpack_scan s = { .n = (uint32_t)n };
	for (int k = 0; k < OBSBPF_HPACK_FIELDS && !s.done; k++)
		obsbpf_hpack_step(buf, &s);
	FUZZ_CHECK(s.i <= s.n);
	if (s.found) {
		FUZZ_CHECK(s.whole);
		int any = 0;
		for (int i = 0; i < 16; i++)
			any |= s.t.trace_id[i];
		FUZZ_CHECK(any);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		scan(data + 1, size - 1);
	else
		events(data + 1, size - 1);
	return 0;
}
