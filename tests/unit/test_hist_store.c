// SPDX-License-Identifier: GPL-2.0
/* The user-space histograms (HTTP/2, gRPC) and the per-pod label cap: buckets as the kernel's,
 * series per pod and labels, exemplars in OpenMetrics only, the series limit, forgetting a pod;
 * and the HTTP/2 series rendered inside the HTTP families next to the kernel's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "bpf/datapath.h"
#include "metrics/buckets.h"
#include "metrics/hist_store.h"
#include "metrics/value_cap.h"
#include "util/strbuf.h"

static const struct red_pod pods[] = {
	{ 1, { "web-1", "shop", "n1" } },
	{ 2, { "api-2", "shop", "n1" } },
};

static const char *H = "http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/a\","
		       "network_protocol_version=\"2\"";

static void test_buckets_and_render(void **state)
{
	(void)state;
	struct hist_store *s = hist_store_new(16);
	struct obsbpf_trace t = {
		.trace_id = { 0xab }, .span_id = { 0xcd }, .flags = 1, .origin = OBSBPF_TO_NEW
	};
	assert_int_equal(hist_store_record(s, 1, HF_HTTP_SERVER, H, 100000, NULL, 0), 0); /* le 0.0001 */
	assert_int_equal(hist_store_record(s, 1, HF_HTTP_SERVER, H, 3000000, &t, 1700000000123),
			 0); /* le 0.005 */
	assert_int_equal(hist_store_record(s, 1, HF_HTTP_SERVER, H, 20000000000ull, NULL, 0), 0); /* +Inf */
	assert_int_equal(hist_store_record(s, 9, HF_HTTP_SERVER, H, 1, NULL, 0), 0); /* a pod not rendered */
	assert_int_equal(hist_store_series(s), 2);
	struct strbuf b;
	sb_init(&b);
	hist_buckets_set(HB_FINE); /* the fine bounds; the default is OpenTelemetry's */
	hist_store_render(s, &b, EXPO_PROMETHEUS, HF_HTTP_SERVER, pods, 2);
	hist_buckets_set(HB_OTEL);
	const char *want_le1 =
		"http_server_request_duration_seconds_bucket{http_request_method=\"GET\","
		"http_response_status_code=\"200\",http_route=\"/a\",network_protocol_version=\"2\","
		"k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\",k8s_node_name=\"n1\",le=\"0.0001\"} 1\n";
	assert_non_null(strstr(b.buf, want_le1));
	assert_non_null(strstr(b.buf, "le=\"0.0025\"} 1\n"));
	assert_non_null(strstr(b.buf, "le=\"0.005\"} 2\n"));
	assert_non_null(strstr(b.buf, "le=\"10\"} 2\n"));
	assert_non_null(strstr(b.buf, "le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(b.buf, "k8s_node_name=\"n1\"} 3\n")); /* _count */
	assert_null(strstr(b.buf, "# {trace_id"));		     /* no exemplars in 0.0.4 */
	assert_null(strstr(b.buf, "k8s_pod_name=\"\""));
	sb_reset(&b);
	hist_store_render(s, &b, EXPO_OPENMETRICS, HF_HTTP_SERVER, pods, 2);
	assert_non_null(strstr(b.buf,
			       "le=\"0.005\"} 2 # {trace_id=\"ab000000000000000000000000000000\","
			       "span_id=\"cd00000000000000\"} 0.003000000 1700000000.123\n"));
	sb_reset(&b);
	hist_store_render(s, &b, EXPO_PROMETHEUS, HF_RPC_SERVER, pods, 2);
	assert_int_equal(b.len, 0); /* other families: nothing */
	sb_free(&b);
	hist_store_free(s);
}

static void test_limit_and_forget(void **state)
{
	(void)state;
	struct hist_store *s = hist_store_new(2);
	assert_int_equal(hist_store_record(s, 1, HF_RPC_CLIENT, "a=\"1\"", 5, NULL, 0), 0);
	assert_int_equal(hist_store_record(s, 2, HF_RPC_CLIENT, "a=\"1\"", 5, NULL, 0), 0);
	assert_int_equal(hist_store_record(s, 1, HF_RPC_CLIENT, "a=\"2\"", 5, NULL, 0), -ENOSPC);
	assert_int_equal(hist_store_record(s, 1, HF_RPC_CLIENT, "a=\"1\"", 5, NULL, 0),
			 0); /* existing: fine */
	assert_int_equal(hist_store_dropped(s), 1);
	hist_store_forget_pod(s, 1);
	assert_int_equal(hist_store_series(s), 1);
	assert_int_equal(hist_store_record(s, 1, HF_RPC_CLIENT, "a=\"2\"", 5, NULL, 0), 0);
	struct strbuf b;
	sb_init(&b);
	hist_store_render(s, &b, EXPO_PROMETHEUS, HF_RPC_CLIENT, pods, 2);
	assert_non_null(strstr(b.buf, "rpc_client_duration_seconds_count{a=\"2\",k8s_pod_name=\"web-1\""));
	assert_non_null(strstr(b.buf, "rpc_client_duration_seconds_count{a=\"1\",k8s_pod_name=\"api-2\""));
	sb_free(&b);
	hist_store_free(s);
}

/* In the agent's /metrics, the HTTP/2 series sit inside the kernel's families (one TYPE line
 * each) and the rpc families follow. */
static void test_families(void **state)
{
	(void)state;
	struct hist_store *s = hist_store_new(16);
	hist_store_record(s, 1, HF_HTTP_SERVER, H, 5, NULL, 0);
	hist_store_record(s, 1, HF_RPC_SERVER, "rpc_system=\"grpc\"", 5, NULL, 0);
	struct dp_hist_entry h = { .key = { .pod_id = 1,
					    .route_id = OBSBPF_ROUTE_OVERFLOW,
					    .status = 200,
					    .method = OBSBPF_M_GET,
					    .dir = OBSBPF_DIR_SERVER },
				   .val = { .count = 1, .buckets = { 1 } } };
	struct strbuf b;
	sb_init(&b);
	red_render_families(&b, EXPO_PROMETHEUS, pods, 2, &h, 1, NULL, 0, NULL, s);
	const char *fam = strstr(b.buf, "# TYPE http_server_request_duration_seconds histogram");
	const char *k = strstr(b.buf,
			       "http_server_request_duration_seconds_count{http_request_method=\"GET\","
			       "http_response_status_code=\"200\",http_route=\"_OTHER\","
			       "network_protocol_version=\"1.1\",url_scheme=\"http\",k8s");
	const char *u = strstr(b.buf, "network_protocol_version=\"2\",k8s_pod_name=\"web-1\"");
	const char *client = strstr(b.buf, "# TYPE http_client_request_duration_seconds histogram");
	const char *rpc = strstr(b.buf, "# TYPE rpc_server_duration_seconds histogram");
	assert_true(fam && k && u && client && rpc);
	assert_true(fam < k && k < u && u < client && client < rpc);
	assert_non_null(
		strstr(rpc, "rpc_server_duration_seconds_count{rpc_system=\"grpc\",k8s_pod_name=\"web-1\""));
	assert_non_null(strstr(b.buf, "# TYPE rpc_client_duration_seconds histogram"));
	sb_free(&b);
	hist_store_free(s);
}

static void test_value_cap(void **state)
{
	(void)state;
	struct value_cap *c = value_cap_new(2);
	assert_string_equal(value_cap_get(c, 1, 0, "/a"), "/a");
	assert_string_equal(value_cap_get(c, 1, 0, "/b"), "/b");
	assert_string_equal(value_cap_get(c, 1, 0, "/c"), "_OTHER");
	assert_string_equal(value_cap_get(c, 1, 0, "/a"), "/a"); /* known ones stay */
	assert_string_equal(value_cap_get(c, 1, 1, "/c"), "/c"); /* another kind */
	assert_string_equal(value_cap_get(c, 2, 0, "/c"), "/c"); /* another pod */
	assert_int_equal(value_cap_size(c), 4);
	value_cap_forget_pod(c, 1);
	assert_int_equal(value_cap_size(c), 1);
	assert_string_equal(value_cap_get(c, 1, 0, "/c"), "/c");
	value_cap_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_and_render),
		cmocka_unit_test(test_limit_and_forget),
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_value_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
