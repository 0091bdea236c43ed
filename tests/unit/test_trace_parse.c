// SPDX-License-Identifier: GPL-2.0
/* The trace header parsers and formatters the BPF programs run (include/obsbpf/trace_parse.h),
 * and the --propagation / --sample-ratio / --inject-to parsing, on the host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <obsbpf/trace_parse.h>

#include "bpf/trace_cfg.h"

/* The parsers read a fixed number of bytes past the value's start: give them a padded copy. */
static int tp(const char *v, struct obsbpf_trace *t)
{
	__u8 b[128] = { 0 };
	memcpy(b, v, strlen(v));
	memset(t, 0, sizeof(*t));
	return obsbpf_parse_traceparent(b, (__u32)strlen(v), t);
}

static int b3(const char *v, struct obsbpf_trace *t)
{
	__u8 b[128] = { 0 };
	memcpy(b, v, strlen(v));
	memset(t, 0, sizeof(*t));
	return obsbpf_parse_b3(b, (__u32)strlen(v), t);
}

static void hex(char *out, const __u8 *in, int n)
{
	obsbpf_hex_encode((__u8 *)out, in, n);
	out[2 * n] = '\0';
}

static void test_traceparent_valid(void **state)
{
	(void)state;
	struct obsbpf_trace t;
	char s[40];
	assert_int_equal(tp("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t), 0);
	hex(s, t.trace_id, 16);
	assert_string_equal(s, "4bf92f3577b34da6a3ce929d0e0e4736");
	hex(s, t.parent_id, 8);
	assert_string_equal(s, "00f067aa0ba902b7");
	assert_int_equal(t.flags, OBSBPF_TRACE_SAMPLED);
	assert_int_equal(tp("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &t), 0);
	assert_int_equal(t.flags, 0);
	/* Only the sampled bit of the flags is kept. */
	assert_int_equal(tp("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", &t), 0);
	assert_int_equal(t.flags, OBSBPF_TRACE_SAMPLED);
	/* A later version may append fields. */
	assert_int_equal(tp("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future", &t),
			 0);
}

static void test_traceparent_invalid(void **state)
{
	(void)state;
	struct obsbpf_trace t;
	const char *bad[] = {
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* version ff */
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",   /* zero trace id */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   /* zero parent */
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   /* uppercase */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", /* 00 with extra */
		"00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",   /* dash misplaced */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    /* short */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",   /* bad flags */
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tp(bad[i], &t), -1);
}

static void test_b3(void **state)
{
	(void)state;
	struct obsbpf_trace t;
	char s[40];
	assert_int_equal(b3("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1", &t), 0);
	assert_int_equal(t.flags, OBSBPF_TRACE_SAMPLED); /* deferred: traced upstream */
	hex(s, t.parent_id, 8);
	assert_string_equal(s, "e457b5a2e4d86bd1");
	assert_int_equal(b3("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0", &t), 0);
	assert_int_equal(t.flags, 0);
	assert_int_equal(b3("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d-05e3ac9a4f6e3b90", &t), 0);
	assert_int_equal(t.flags, OBSBPF_TRACE_SAMPLED);
	assert_int_equal(b3("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-x", &t), -1);
	assert_int_equal(b3("80f198ee56343ba864fe8b2a57d3eff7e457b5a2e4d86bd1", &t), -1);
	assert_int_equal(b3("0", &t), -1);
}

static void test_xtrace(void **state)
{
	(void)state;
	struct obsbpf_trace t = { 0 };
	__u8 b[64] = { 0 };
	memcpy(b, "463ac35c9f6413ad", 16); /* 64-bit: zero-extended */
	assert_int_equal(obsbpf_parse_xtrace_id(b, 16, &t), 0);
	char s[40];
	hex(s, t.trace_id, 16);
	assert_string_equal(s, "0000000000000000463ac35c9f6413ad");
	assert_int_equal(obsbpf_parse_xtrace_id(b, 15, &t), -1);
	assert_int_equal(obsbpf_parse_xspan_id(b, 16, &t), 0);
}

static void test_format_roundtrip(void **state)
{
	(void)state;
	struct obsbpf_trace t = { .flags = OBSBPF_TRACE_SAMPLED }, back;
	for (int i = 0; i < 16; i++)
		t.trace_id[i] = (__u8)(0x10 * i + 0xf - i);
	for (int i = 0; i < 8; i++)
		t.span_id[i] = (__u8)(0xa0 + i);
	char line[OBSBPF_HDR_TRACEPARENT_LEN + 1] = { 0 };
	obsbpf_fmt_traceparent((__u8 *)line, &t);
	assert_string_equal(line, "traceparent: 00-0f1e2d3c4b5a69788796a5b4c3d2e1f0-a0a1a2a3a4a5a6a7-01\r\n");
	assert_int_equal(tp(line + 13, &back), -1); /* the CRLF is not part of the value */
	line[OBSBPF_HDR_TRACEPARENT_LEN - 2] = '\0';
	assert_int_equal(tp(line + 13, &back), 0);
	assert_memory_equal(back.trace_id, t.trace_id, 16);
	assert_memory_equal(back.parent_id, t.span_id, 8); /* our span is the receiver's parent */

	char b3s[OBSBPF_HDR_B3_LEN + 1] = { 0 };
	t.flags = 0;
	obsbpf_fmt_b3((__u8 *)b3s, &t);
	assert_string_equal(b3s, "b3: 0f1e2d3c4b5a69788796a5b4c3d2e1f0-a0a1a2a3a4a5a6a7-0\r\n");

	char x[OBSBPF_HDR_XTRACE_LEN + OBSBPF_HDR_XSPAN_LEN + OBSBPF_HDR_XPARENT_LEN + 1] = { 0 };
	memcpy(t.parent_id, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	obsbpf_fmt_xtrace((__u8 *)x, &t);
	obsbpf_fmt_xparent((__u8 *)x + OBSBPF_HDR_XTRACE_LEN + OBSBPF_HDR_XSPAN_LEN, &t);
	assert_string_equal(x,
			    "x-trace-id: 0f1e2d3c4b5a69788796a5b4c3d2e1f0\r\nx-span-id: a0a1a2a3a4a5a6a7\r\n"
			    "x-parent-span: 0102030405060708\r\n");
}

static void test_cfg(void **state)
{
	(void)state;
	struct trace_cfg c;
	char err[256];
	assert_int_equal(trace_cfg_parse(NULL, NULL, NULL, &c, err, sizeof(err)), 0);
	assert_int_equal(c.k.propagation, OBSBPF_PROP_W3C);
	assert_true(c.k.sample_threshold == (1ull << 32));
	assert_int_equal(c.ncidrs, 6);
	assert_int_equal(trace_cfg_parse("b3,w3c,xtrace", "0.25", "10.1.2.3,fd00::/8", &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.k.propagation, OBSBPF_PROP_W3C | OBSBPF_PROP_XTRACE | OBSBPF_PROP_B3);
	assert_true(c.k.sample_threshold == (1ull << 30));
	assert_int_equal(c.ncidrs, 2);
	assert_int_equal(c.cidrs[0].prefixlen, 128);
	assert_int_equal(c.cidrs[0].addr[10], 0xff);
	assert_int_equal(c.cidrs[0].addr[15], 3);
	assert_int_equal(c.cidrs[1].prefixlen, 8);
	assert_int_equal(c.cidrs[1].addr[0], 0xfd);
	assert_int_equal(trace_cfg_parse("none", "0", "none", &c, err, sizeof(err)), 0);
	assert_int_equal(c.k.propagation, 0);
	assert_int_equal(c.ncidrs, 0);

	assert_int_equal(trace_cfg_parse("w3c,zipkin", NULL, NULL, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "--propagation w3c,zipkin: expected w3c, xtrace, b3 (comma separated) or none");
	assert_int_equal(trace_cfg_parse(NULL, "1.5", NULL, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--sample-ratio 1.5: expected a number from 0 to 1");
	assert_int_equal(trace_cfg_parse(NULL, NULL, "10.0.0.0/33", &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--inject-to 10.0.0.0/33: expected an address or ADDRESS/BITS");
	assert_int_equal(trace_cfg_parse(NULL, NULL, "example.com", &c, err, sizeof(err)), -EINVAL);

	assert_int_equal(trace_cfg_propagate(NULL, &c, err, sizeof(err)), 0);
	assert_int_equal(c.k.propagate, OBSBPF_PROPAGATE_ALWAYS);
	assert_int_equal(trace_cfg_propagate("sampled", &c, err, sizeof(err)), 0);
	assert_int_equal(c.k.propagate, OBSBPF_PROPAGATE_SAMPLED);
	assert_int_equal(trace_cfg_propagate("always", &c, err, sizeof(err)), 0);
	assert_int_equal(c.k.propagate, OBSBPF_PROPAGATE_ALWAYS);
	assert_int_equal(trace_cfg_propagate("never", &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--propagate never: expected always or sampled");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traceparent_valid),
		cmocka_unit_test(test_traceparent_invalid),
		cmocka_unit_test(test_b3),
		cmocka_unit_test(test_xtrace),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_cfg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
