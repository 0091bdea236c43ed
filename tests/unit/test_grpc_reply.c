// SPDX-License-Identifier: GPL-2.0
/* How the OTLP/gRPC transport reads a collector's reply: its nghttp2 callbacks, static in
 * trace/grpc.c, which is included here with its one public function renamed so that it does
 * not clash with the copy linked from user/. */
#define otlp_grpc_new test_otlp_grpc_new
#include "trace/grpc.c"
#undef otlp_grpc_new

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct export_result got;

static void done(void *arg, const struct export_result *r)
{
	(void)arg;
	got = *r;
}

static struct grpc_tp *reply(void)
{
	struct grpc_tp *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	g->fd = -1;
	g->stream = 1;
	g->grpc_status = -1; /* as submit() leaves it */
	g->done = done;
	return g;
}

static void header(struct grpc_tp *g, const char *name, const char *value)
{
	const nghttp2_frame f = { .hd = { .stream_id = g->stream } };
	on_header(NULL, &f, (const uint8_t *)name, strlen(name), (const uint8_t *)value, strlen(value), 0, g);
}

/* Found by fuzzing (tests/fuzz/fuzz_grpc.c): a second empty DATA chunk made realloc(p, 0) free
 * the reply buffer and return NULL, which left it dangling: freed again later. */
static void test_fuzz_empty_data_chunks(void **state)
{
	(void)state;
	struct grpc_tp *g = reply();
	static const uint8_t msg[] = { 0, 0, 0, 0, 0 }; /* an empty ExportTraceServiceResponse */
	assert_int_equal(on_data(NULL, 0, 1, msg, 0, g), 0);
	assert_int_equal(on_data(NULL, 0, 1, msg, 0, g), 0);
	assert_int_equal(on_data(NULL, 0, 1, msg, sizeof(msg), g), 0);
	assert_int_equal(g->resp_len, sizeof(msg));
	header(g, ":status", "200");
	header(g, "grpc-status", "0");
	on_close(NULL, 1, 0, g);
	deliver(g);
	assert_int_equal(got.outcome, EXPORT_OK);
	assert_string_equal(got.detail, "grpc-status 0");
	free(g);
}

/* RESOURCE_EXHAUSTED is retried when the server says when (RetryInfo), after that long. */
static void test_exhausted_with_retry_info(void **state)
{
	(void)state;
	struct grpc_tp *g = reply();
	header(g, ":status", "200");
	header(g, "grpc-status", "8");
	header(g, "grpc-message", "quota%20exceeded");
	/* google.rpc.Status{code 8, details [Any{RetryInfo{retry_delay{seconds 5}}}]} */
	header(g, "grpc-status-details-bin",
	       "CAgaNgoodHlwZS5nb29nbGVhcGlzLmNvbS9nb29nbGUucnBjLlJldHJ5SW5mbxIKCggIBRCAyrXuAQ");
	on_close(NULL, 1, 0, g);
	deliver(g);
	assert_int_equal(got.outcome, EXPORT_RETRY);
	assert_int_equal(got.retry_after_ms, 5500);
	assert_string_equal(got.detail, "grpc-status 8: quota exceeded");
	free(g);
}

/* The peer's bytes run through a real nghttp2 session, and what it answers is drained (there
 * is no socket): returns whether the session is over, as on_io sees it. */
static bool session_feed(struct grpc_tp *g, const uint8_t *in, size_t len)
{
	const uint8_t *out;
	assert_true(nghttp2_session_mem_recv(g->sess, in, len) >= 0);
	while (nghttp2_session_mem_send(g->sess, &out) > 0)
		;
	return !nghttp2_session_want_read(g->sess) && !nghttp2_session_want_write(g->sess);
}

/* Found by tests/integration/test_fault_exporters_otlp.sh: a peer that answers garbage made
 * nghttp2 end the session itself, and the log said the server had sent a GOAWAY. */
static void test_garbage_is_not_a_goaway(void **state)
{
	(void)state;
	struct grpc_tp *g = reply();
	assert_int_equal(session_open(g), 0);
	static const char http1[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	assert_true(session_feed(g, (const uint8_t *)http1, sizeof(http1) - 1));
	session_ended(g);
	deliver(g);
	assert_int_equal(got.outcome, EXPORT_RETRY);
	assert_non_null(strstr(got.detail, "http/2: Remote peer returned unexpected data"));
	assert_null(g->sess);
	assert_string_equal(g->h2_error, "");
	free(g);
}

static void test_server_goaway(void **state)
{
	(void)state;
	struct grpc_tp *g = reply();
	assert_int_equal(session_open(g), 0);
	static const uint8_t settings_goaway[] = {
		0, 0, 0, 4, 0, 0, 0, 0, 0,			   /* SETTINGS, empty */
		0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* GOAWAY last 0, NO_ERROR */
	};
	assert_true(session_feed(g, settings_goaway, sizeof(settings_goaway)));
	session_ended(g);
	deliver(g);
	assert_int_equal(got.outcome, EXPORT_RETRY);
	assert_string_equal(got.detail, "server ended the connection (GOAWAY)");
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_empty_data_chunks),
		cmocka_unit_test(test_exhausted_with_retry_info),
		cmocka_unit_test(test_garbage_is_not_a_goaway),
		cmocka_unit_test(test_server_goaway),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
