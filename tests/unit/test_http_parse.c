// SPDX-License-Identifier: GPL-2.0
/* The HTTP start-line parsers and route hashing that the BPF programs run, on the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <obsbpf/http_parse.h>

#include "metrics/route.h"

static int method(const char *s, __u32 *target)
{
	__u8 b[OBSBPF_LINE_BUF] = { 0 };
	size_t n = strlen(s);
	memcpy(b, s, n);
	return obsbpf_parse_method(b, (__u32)n, target);
}

static int status(const char *s)
{
	__u8 b[OBSBPF_LINE_BUF] = { 0 };
	size_t n = strlen(s);
	memcpy(b, s, n);
	return obsbpf_parse_status(b, (__u32)n);
}

static __u32 route_id(const char *line)
{
	__u32 target = 0;
	__u8 b[OBSBPF_LINE_BUF] = { 0 };
	size_t n = strlen(line) < OBSBPF_LINE_BUF ? strlen(line) : OBSBPF_LINE_BUF;
	memcpy(b, line, n);
	assert_true(obsbpf_parse_method(b, (__u32)n, &target) >= 0);
	return obsbpf_route_hash_host(b, (__u32)n, target);
}

static void test_methods(void **state)
{
	(void)state;
	__u32 t = 0;
	assert_int_equal(method("GET / HTTP/1.1\r\n", &t), OBSBPF_M_GET);
	assert_int_equal(t, 4);
	assert_int_equal(method("POST /x HTTP/1.1\r\n", &t), OBSBPF_M_POST);
	assert_int_equal(method("PUT /x HTTP/1.1", &t), OBSBPF_M_PUT);
	assert_int_equal(method("PATCH /x HTTP/1.1", &t), OBSBPF_M_PATCH);
	assert_int_equal(method("DELETE /x HTTP/1.1", &t), OBSBPF_M_DELETE);
	assert_int_equal(method("HEAD / HTTP/1.0", &t), OBSBPF_M_HEAD);
	assert_int_equal(method("OPTIONS * HTTP/1.1", &t), OBSBPF_M_OPTIONS);
	assert_int_equal(t, 8);
	assert_int_equal(method("CONNECT host:443 HTTP/1.1", &t), OBSBPF_M_CONNECT);
	assert_int_equal(method("TRACE / HTTP/1.1", &t), OBSBPF_M_TRACE);
}

static void test_not_requests(void **state)
{
	(void)state;
	__u32 t = 0;
	assert_int_equal(method("GET\r\n\r\n", &t), -1);     /* no target */
	assert_int_equal(method("GET  / HTTP/1.1", &t), -1); /* double space */
	assert_int_equal(method("get / HTTP/1.1", &t), -1);  /* methods are case-sensitive */
	assert_int_equal(method("GETS / HTTP/1.1", &t), -1);
	assert_int_equal(method("GET ", &t), -1);
	assert_int_equal(method("", &t), -1);
	assert_int_equal(method("\x16\x03\x01\x02\x00", &t), -1);
	assert_int_equal(method("HTTP/1.1 200 OK", &t), -1);
}

static void test_status(void **state)
{
	(void)state;
	assert_int_equal(status("HTTP/1.1 200 OK\r\n"), 200);
	assert_int_equal(status("HTTP/1.0 404 Not Found\r\n"), 404);
	assert_int_equal(status("HTTP/1.1 503"), 503);	   /* exactly 12 bytes */
	assert_int_equal(status("HTTP/1.1 204\r\n"), 204); /* no reason phrase */
	assert_int_equal(status("HTTP/1.1 100 Continue\r\n"), 100);
	assert_int_equal(status("HTTP/2 200 OK"), -1);
	assert_int_equal(status("HTTP/1.1 2000 OK"), -1);
	assert_int_equal(status("HTTP/1.1 099 X"), -1);
	assert_int_equal(status("HTTP/1.1 600 X"), -1);
	assert_int_equal(status("HTTP/1.1 20"), -1);
	assert_int_equal(status("HTTP/1.2 200 OK"), -1);
	assert_int_equal(status("GET / HTTP/1.1"), -1);
}

static void test_tls(void **state)
{
	(void)state;
	const __u8 hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00 };
	const __u8 http[] = "GET /";
	assert_true(obsbpf_looks_like_tls(hello, sizeof(hello)));
	assert_false(obsbpf_looks_like_tls(http, 5));
	assert_false(obsbpf_looks_like_tls(hello, 2));
}

static void test_route_ids(void **state)
{
	(void)state;
	assert_int_equal(route_id("GET /users/17 HTTP/1.1"), route_id("GET /users/42 HTTP/1.1"));
	assert_int_equal(route_id("GET /users/17?page=2 HTTP/1.1"), route_id("GET /users/9 HTTP/1.1"));
	assert_int_equal(route_id("GET /o/9f86d081-884c-7d65 HTTP/1.1"), route_id("GET /o/1 HTTP/1.1"));
	assert_int_not_equal(route_id("GET /users/me HTTP/1.1"), route_id("GET /users/17 HTTP/1.1"));
	assert_int_not_equal(route_id("GET /users HTTP/1.1"), route_id("GET /users/ HTTP/1.1"));
	assert_int_not_equal(route_id("GET /cafe HTTP/1.1"),
			     route_id("GET /1 HTTP/1.1")); /* hex word, no digit */
	assert_true(route_id("GET / HTTP/1.1") != OBSBPF_ROUTE_OVERFLOW);
}

/* The kernel keys by hash, the agent shows route_template() of a raw path: equal hashes must
 * mean equal templates, or two routes would render the same label. */
static void test_hash_agrees_with_template(void **state)
{
	(void)state;
	const char *paths[] = { "/",	       "/users/17",	     "/users/42",
				"/users/me",   "/users/17/orders/3", "/a-b/c_d",
				"/x/ABCDEF12", "/x/abcdef",	     "/v1/items/0",
				"/v2/items/0", "/deep/1/2/3/4/5",    "/trailing/",
				"/x/12-34" };
	size_t n = sizeof(paths) / sizeof(paths[0]);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			char li[128], lj[128], ti[80], tj[80];
			snprintf(li, sizeof(li), "GET %s HTTP/1.1", paths[i]);
			snprintf(lj, sizeof(lj), "GET %s HTTP/1.1", paths[j]);
			route_template(paths[i], ti, sizeof(ti));
			route_template(paths[j], tj, sizeof(tj));
			assert_int_equal(route_id(li) == route_id(lj), strcmp(ti, tj) == 0);
		}
	}
}

static void test_template(void **state)
{
	(void)state;
	char out[80];
	route_template("/users/42/orders/9f86d081884c7d65", out, sizeof(out));
	assert_string_equal(out, "/users/:id/orders/:id");
	route_template("/search?q=1", out, sizeof(out));
	assert_string_equal(out, "/search");
	route_template("/", out, sizeof(out));
	assert_string_equal(out, "/");
	route_template("/api/v1/me", out, sizeof(out));
	assert_string_equal(out, "/api/v1/me");
	route_template("/abcdefghijklmnop", out, 8);
	assert_string_equal(out, "/abcdef");
}

static void test_long_path_bounded(void **state)
{
	(void)state;
	char line[200];
	memset(line, 'a', sizeof(line));
	memcpy(line, "GET /", 5);
	line[sizeof(line) - 1] = '\0';
	/* Only the first 63 path bytes count: two paths differing after that share a route. */
	char other[200];
	memcpy(other, line, sizeof(line));
	other[150] = 'b';
	assert_int_equal(route_id(line), route_id(other));
}

static int method_prefix(const char *s, size_t n)
{
	__u8 b[8] = { 0 }; /* 8 readable bytes, n of them the send's */
	memcpy(b, s, n);
	return obsbpf_method_prefix(b, (__u32)n);
}

/* Found by fuzzing (tests/fuzz/fuzz_http_parse.c): the words are zero past their end, so NULs
 * after a method matched ("PUT \0\0" could start a request line). */
static void test_method_prefix(void **state)
{
	(void)state;
	assert_true(method_prefix("G", 1));
	assert_true(method_prefix("GET ", 4));
	assert_true(method_prefix("DELET", 5));
	assert_true(method_prefix("CONNECT", 7));
	assert_true(method_prefix("OPTIONS", 7));
	assert_false(method_prefix("PUT \0\0", 6));
	assert_false(method_prefix("GET \0\0\0", 7));
	assert_false(method_prefix("HEAD \0", 6));
	assert_false(method_prefix("GEX", 3));
	assert_false(method_prefix("", 0));
	assert_false(method_prefix("OPTIONS ", 8)); /* 8 bytes: parse_method decides */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_methods),	      cmocka_unit_test(test_not_requests),
		cmocka_unit_test(test_status),	      cmocka_unit_test(test_tls),
		cmocka_unit_test(test_route_ids),     cmocka_unit_test(test_hash_agrees_with_template),
		cmocka_unit_test(test_template),      cmocka_unit_test(test_long_path_bounded),
		cmocka_unit_test(test_method_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
