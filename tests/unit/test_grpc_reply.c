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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_empty_data_chunks),
		cmocka_unit_test(test_exhausted_with_retry_info),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
