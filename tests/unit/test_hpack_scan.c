// SPDX-License-Identifier: GPL-2.0
/* The kernel's traceparent scan of HPACK blocks (include/obsbpf/hpack.h), on blocks that
 * nghttp2's encoder makes: Huffman-coded and raw values, new and indexed names, never-indexed
 * fields, size updates, long integers; and what it cannot see (a field sent whole from the
 * dynamic table), or refuses (a look-alike value, a block cut short). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <string.h>

#include <obsbpf/hpack.h>

#define TP1 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define TP2 "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"

/* The buffer as the kernel has it: the block, then slack. */
static uint8_t buf[OBSBPF_HPACK_SCAN_BUF + OBSBPF_HPACK_SLACK];

static struct obsbpf_hpack_scan scan(const uint8_t *b, size_t n)
{
	struct obsbpf_hpack_scan s;
	memset(&s, 0, sizeof(s));
	memset(buf, 0xee, sizeof(buf));
	s.n = n < OBSBPF_HPACK_SCAN_BUF ? (uint32_t)n : OBSBPF_HPACK_SCAN_BUF;
	memcpy(buf, b, s.n);
	for (int k = 0; k < OBSBPF_HPACK_FIELDS && !s.done; k++)
		obsbpf_hpack_step(buf, &s);
	return s;
}

static size_t deflate(nghttp2_hd_deflater *d, const char *const *kv, size_t nkv, uint8_t flags, uint8_t *out,
		      size_t cap)
{
	nghttp2_nv nv[16];
	for (size_t i = 0; i < nkv; i++)
		nv[i] = (nghttp2_nv){ (uint8_t *)kv[2 * i], (uint8_t *)kv[2 * i + 1], strlen(kv[2 * i]),
				      strlen(kv[2 * i + 1]),
				      !strcmp(kv[2 * i], "traceparent") ? flags : NGHTTP2_NV_FLAG_NONE };
	ssize_t n = nghttp2_hd_deflate_hd(d, out, cap, nv, nkv);
	assert_true(n > 0);
	return (size_t)n;
}

/* Requests as a gRPC client sends them, one connection: the first carries the name literally,
 * later ones index it and send a new value; every one is found, Huffman-coded or not. */
static void test_encoder_blocks(void **state)
{
	(void)state;
	nghttp2_hd_deflater *d;
	assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
	uint8_t b[4096];
	const char *req1[] = {
		":method",	  "POST",	":scheme",    "http",	      ":path",
		"/shop.Cart/Add", ":authority", "cart:50051", "content-type", "application/grpc",
		"traceparent",	  TP1
	};
	size_t n = deflate(d, req1, 6, NGHTTP2_NV_FLAG_NONE, b, sizeof(b));
	struct obsbpf_hpack_scan s = scan(b, n);
	assert_true(s.found);
	assert_int_equal(s.t.trace_id[0], 0x4b);
	assert_int_equal(s.t.parent_id[7], 0xb7);
	assert_int_equal(s.t.flags, 1);
	const char *req2[] = {
		":method",	  "POST",	":scheme",    "http",	      ":path",
		"/shop.Cart/Add", ":authority", "cart:50051", "content-type", "application/grpc",
		"traceparent",	  TP2
	};
	n = deflate(d, req2, 6, NGHTTP2_NV_FLAG_NONE, b, sizeof(b));
	s = scan(b, n);
	assert_true(s.found); /* name from the dynamic table, value new */
	assert_int_equal(s.t.trace_id[0], 0x0a);
	assert_int_equal(s.t.flags, 0);
	/* The same value again: the encoder sends the whole field as an index. Not visible. */
	n = deflate(d, req2, 6, NGHTTP2_NV_FLAG_NONE, b, sizeof(b));
	s = scan(b, n);
	assert_false(s.found);
	assert_true(s.whole);
	/* Never indexed (sensitive), and no traceparent at all. */
	n = deflate(d, req1, 6, NGHTTP2_NV_FLAG_NO_INDEX, b, sizeof(b));
	assert_true(scan(b, n).found);
	n = deflate(d, req1, 5, NGHTTP2_NV_FLAG_NONE, b, sizeof(b));
	s = scan(b, n);
	assert_false(s.found);
	assert_true(s.whole);
	nghttp2_hd_deflate_del(d);
}

/* The field obsbpf itself inserts: literal without indexing, new name, raw value. Behind a
 * table size update and an index needing continuation bytes. */
static void test_raw_literal(void **state)
{
	(void)state;
	uint8_t b[256];
	size_t n = 0;
	b[n++] = 0x3f; /* size update to 31 + 4065 = 4096 */
	b[n++] = 0xe1;
	b[n++] = 0x1f;
	b[n++] = 0xff; /* indexed 127 + 73 = 200 */
	b[n++] = 0x49;
	b[n++] = 0x00;
	b[n++] = 11;
	memcpy(b + n, "traceparent", 11), n += 11;
	b[n++] = 55;
	memcpy(b + n, TP1, 55), n += 55;
	struct obsbpf_hpack_scan s = scan(b, n);
	assert_true(s.found);
	assert_int_equal(s.t.parent_id[0], 0x00);
	assert_int_equal(s.t.parent_id[1], 0xf0);
}

/* Look-alikes and broken blocks: an invalid traceparent (all-zero id), a Huffman value of the
 * right length that is not one, a block cut inside a field, a huge length. */
static void test_refusals(void **state)
{
	(void)state;
	nghttp2_hd_deflater *d;
	assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
	uint8_t b[4096];
	const char *zero[] = { ":path", "/", "traceparent",
			       "00-00000000000000000000000000000000-00f067aa0ba902b7-01" };
	size_t n = deflate(d, zero, 2, NGHTTP2_NV_FLAG_NONE, b, sizeof(b));
	assert_false(scan(b, n).found);
	const char *other[] = { ":path", "/", "x-other",
				"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g" };
	n = deflate(d, other, 2, NGHTTP2_NV_FLAG_NONE, b, sizeof(b));
	assert_false(scan(b, n).found);
	const char *req[] = { ":path", "/", "traceparent", TP1 };
	n = deflate(d, req, 2, NGHTTP2_NV_FLAG_NONE, b, sizeof(b));
	struct obsbpf_hpack_scan s = scan(b, n - 5); /* the value cut short */
	assert_false(s.found);
	assert_false(s.whole);
	uint8_t huge[] = { 0x00, 0x7f, 0xff, 0xff, 0xff, 0x7f };
	s = scan(huge, sizeof(huge));
	assert_false(s.found);
	assert_false(s.whole);
	nghttp2_hd_deflate_del(d);
}

/* The 17 codes, against nghttp2's Huffman coder: every hex digit and '-' at every bit offset. */
static void test_huffman_alphabet(void **state)
{
	(void)state;
	nghttp2_hd_deflater *d;
	assert_int_equal(nghttp2_hd_deflate_new(&d, 0), 0); /* no table: every field literal */
	const char *digits = "0123456789abcdef";
	for (int rot = 0; rot < 16; rot++) {
		char tp[56];
		snprintf(tp, sizeof(tp), "00-%c%c", digits[rot], digits[(rot + 7) % 16]);
		for (int i = 5; i < 35; i++)
			tp[i] = digits[(rot + i) % 16];
		tp[35] = '-';
		for (int i = 36; i < 52; i++)
			tp[i] = digits[(rot * 3 + i) % 16];
		snprintf(tp + 52, 4, "-0%c", rot & 1 ? '1' : '0');
		const char *kv[] = { ":path", "/", "traceparent", tp };
		uint8_t b[512];
		size_t n = deflate(d, kv, 2, NGHTTP2_NV_FLAG_NONE, b, sizeof(b));
		struct obsbpf_hpack_scan s = scan(b, n);
		assert_true(s.found);
		assert_memory_equal(s.val, tp, 55);
		assert_int_equal(s.t.flags, rot & 1);
	}
	nghttp2_hd_deflate_del(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoder_blocks),
		cmocka_unit_test(test_raw_literal),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_huffman_alphabet),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
