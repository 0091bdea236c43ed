// SPDX-License-Identifier: GPL-2.0
/* The HTTP/1 start-line parsers the BPF programs run (include/obsbpf/http_parse.h), called as
 * their comments say: a 128-byte line buffer with len valid bytes, 8 readable bytes for
 * obsbpf_method_prefix, the 10 bytes before '\n' for obsbpf_request_version_ok. Each buffer is
 * a heap block of exactly that size, so ASan sees a read past it. Besides not crashing, the
 * answers are checked against plain reference code, and the kernel's route id against
 * route_template (the agent's display of the same rule): the two must agree. */
#include <stdbool.h>
#include <string.h>

#include <obsbpf/http_parse.h>

#include "fuzz.h"
#include "metrics/route.h"

/* Indexed by enum obsbpf_method. */
static const char *const methods[OBSBPF_M_MAX] = {
	[OBSBPF_M_GET] = "GET ",	 [OBSBPF_M_HEAD] = "HEAD ",	[OBSBPF_M_POST] = "POST ",
	[OBSBPF_M_PUT] = "PUT ",	 [OBSBPF_M_DELETE] = "DELETE ", [OBSBPF_M_CONNECT] = "CONNECT ",
	[OBSBPF_M_OPTIONS] = "OPTIONS ", [OBSBPF_M_TRACE] = "TRACE ",	[OBSBPF_M_PATCH] = "PATCH ",
};

static __u8 *padded(const uint8_t *data, size_t size, size_t cap)
{
	__u8 *b = calloc(1, cap);
	FUZZ_CHECK(b);
	memcpy(b, data, size < cap ? size : cap);
	return b;
}

static void check_method(const __u8 *b, __u32 len)
{
	__u32 target = 0;
	int m = obsbpf_parse_method(b, len, &target);
	int want = -1;
	for (int i = 1; i < OBSBPF_M_MAX && want < 0; i++) {
		size_t n = strlen(methods[i]);
		if (len > n && !memcmp(b, methods[i], n) && b[n] > ' ' && b[n] < 0x7f)
			want = i;
	}
	FUZZ_CHECK(m == want);
	if (m < 0)
		return;
	FUZZ_CHECK(target == strlen(methods[m]));

	__u32 id = obsbpf_route_hash_host(b, len, target);
	FUZZ_CHECK(!(id & 0x80000000u));
	/* The kernel hashes at most OBSBPF_ROUTE_LEN - 1 bytes of the path; the agent templates
	 * the raw path it kept (that much) for display. */
	char raw[OBSBPF_ROUTE_LEN], tpl[4 * OBSBPF_ROUTE_LEN];
	size_t k = 0;
	while (k < OBSBPF_ROUTE_LEN - 1 && target + k < len && !obsbpf_route_end(b[target + k]))
		k++;
	if (memchr(b + target, '\0', k)) /* a C string stops there; the kernel does not */
		return;
	memcpy(raw, b + target, k);
	raw[k] = '\0';
	route_template(raw, tpl, sizeof(tpl));
	size_t tl = strlen(tpl);
	if (tl >= OBSBPF_ROUTE_LEN - 1) /* ":id" can be longer than the id: the hash stops first */
		return;
	FUZZ_CHECK(obsbpf_route_hash_host((const __u8 *)tpl, (__u32)tl, 0) == id);
}

static void check_status(const __u8 *b, __u32 len)
{
	int st = obsbpf_parse_status(b, len);
	bool want = len >= 12 && !memcmp(b, "HTTP/1.", 7) && (b[7] == '0' || b[7] == '1') && b[8] == ' ';
	int code = 0;
	for (int i = 9; want && i < 12; i++) {
		want = b[i] >= '0' && b[i] <= '9';
		code = code * 10 + (b[i] - '0');
	}
	want = want && code >= 100 && code <= 599 && (len == 12 || b[12] == ' ' || b[12] == '\r');
	FUZZ_CHECK(st == (want ? code : -1));
}

static void check_method_prefix(const uint8_t *data, size_t size)
{
	__u32 len = size < 8 ? (__u32)size : 8;
	__u8 *b = padded(data, size, 8);
	int got = obsbpf_method_prefix(b, len);
	int want = 0;
	for (int i = 1; i < OBSBPF_M_MAX && len && len < 8; i++)
		want |= len <= strlen(methods[i]) && !memcmp(b, methods[i], len);
	FUZZ_CHECK(got == want);
	free(b);
}

static void check_version(const uint8_t *data, size_t size)
{
	__u8 *t = padded(data, size, 10);
	int got = obsbpf_request_version_ok(t);
	/* " HTTP/1.x\r" (CRLF), or " HTTP/1.x" in the last 9 bytes (bare LF) */
	const __u8 *v = t[9] == '\r' ? t : t + 1;
	int want = !memcmp(v, " HTTP/1.", 8) && (v[8] == '0' || v[8] == '1') ? v[8] - '0' + 1 : 0;
	FUZZ_CHECK(got == want);
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__u32 len = size < OBSBPF_LINE_BUF ? (__u32)size : OBSBPF_LINE_BUF;
	__u8 *b = padded(data, size, OBSBPF_LINE_BUF);
	check_method(b, len);
	check_status(b, len);
	FUZZ_CHECK(obsbpf_looks_like_tls(b, len) == (len >= 3 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4));
	free(b);
	check_method_prefix(data, size);
	check_version(data, size);
	return 0;
}
