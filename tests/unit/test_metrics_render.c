// SPDX-License-Identifier: GPL-2.0
/* The /metrics renderer on a hand-made snapshot of the kernel's maps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "metrics/buckets.h"
#include "metrics/red.h"
#include "util/strbuf.h"

static const struct pod_labels L = { "web-1", "shop", "node-a" };
#define PL "k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\",k8s_node_name=\"node-a\""
/* The semantic conventions' labels of an HTTP/1.1 cleartext server series. */
#define SV "network_protocol_version=\"1.1\",url_scheme=\"http\"," PL

static void render(struct strbuf *sb)
{
	struct dp_hist_entry h[2] = { 0 };
	struct dp_route r[1] = { { .id = 7, .path = "/users/42" } };
	/* Listed client first: the renderer must still group each family. */
	h[0].key = (struct obsbpf_hist_key){ .pod_id = 0,
					     .route_id = OBSBPF_ROUTE_OVERFLOW,
					     .status = 503,
					     .method = OBSBPF_M_POST,
					     .dir = OBSBPF_DIR_CLIENT,
					     .family = 2 /* AF_INET */,
					     .peer_port = 8080,
					     .peer = { 10, 1, 2, 3 } };
	h[0].val.count = 1;
	h[0].val.sum_ns = 2000000000ull;
	h[0].val.buckets[15] = 1; /* (1 s, 2.5 s] */
	h[1].key = (struct obsbpf_hist_key){
		.route_id = 7, .status = 200, .method = OBSBPF_M_GET, .dir = OBSBPF_DIR_SERVER
	};
	h[1].val.count = 3;
	h[1].val.sum_ns = 1500000;
	h[1].val.buckets[0] = 1; /* <= 100 us */
	h[1].val.buckets[3] = 2; /* (500 us, 1 ms] */
	h[1].key.http10 = 1;
	sb_init(sb);
	red_render(sb, EXPO_PROMETHEUS, &L, h, 2, r, 1, NULL);
}

static void test_server_histogram(void **state)
{
	(void)state;
	struct strbuf sb;
	hist_buckets_set(HB_FINE);
	render(&sb);
	hist_buckets_set(HB_OTEL);
	const char *s = sb.buf;
#define SV10 "network_protocol_version=\"1.0\",url_scheme=\"http\"," PL
	assert_non_null(strstr(s, "# TYPE http_server_request_duration_seconds histogram\n"));
	assert_non_null(strstr(s,
			       "http_server_request_duration_seconds_bucket{http_request_method=\"GET\","
			       "http_response_status_code=\"200\",http_route=\"/users/:id\"," SV10
			       ",le=\"0.0001\"} 1\n"));
	/* cumulative */
	assert_non_null(strstr(s, SV10 ",le=\"0.0005\"} 1\n"));
	assert_non_null(strstr(s, SV10 ",le=\"0.001\"} 3\n"));
	/* fine: no 0.075 (a bound of the advised set only) */
	assert_null(strstr(s, "le=\"0.075\""));
	assert_non_null(strstr(s,
			       "http_server_request_duration_seconds_bucket{http_request_method=\"GET\","
			       "http_response_status_code=\"200\",http_route=\"/users/:id\"," SV10
			       ",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(s,
			       "http_server_request_duration_seconds_sum{http_request_method=\"GET\","
			       "http_response_status_code=\"200\",http_route=\"/users/:id\"," SV10
			       "} 0.001500000\n"));
	assert_non_null(strstr(s,
			       "http_server_request_duration_seconds_count{http_request_method=\"GET\","
			       "http_response_status_code=\"200\",http_route=\"/users/:id\"," SV10 "} 3\n"));
	sb_free(&sb);

	/* The default: OpenTelemetry's advised bounds, 0.005 to 10 s, 14 of them and +Inf. */
	render(&sb);
	s = strstr(sb.buf, "http_server_request_duration_seconds_bucket");
	assert_non_null(s);
	static const char *const otel[] = { "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25",
					    "0.5",   "0.75", "1",     "2.5",  "5",     "7.5", "10" };
	for (size_t i = 0; i < sizeof(otel) / sizeof(otel[0]); i++) {
		char want[256];
		snprintf(want, sizeof(want), SV10 ",le=\"%s\"} 3\n", otel[i]);
		assert_non_null(strstr(s, want));
	}
	assert_null(strstr(sb.buf, "le=\"0.001\""));
	assert_null(strstr(sb.buf, "le=\"0.0001\""));
	sb_free(&sb);
}

static void test_client_overflow_route(void **state)
{
	(void)state;
	struct strbuf sb;
	render(&sb);
	const char *client = strstr(sb.buf, "# TYPE http_client_request_duration_seconds histogram\n");
	assert_non_null(client);
	assert_true(client > strstr(sb.buf, "http_server_request_duration_seconds_count"));
	assert_non_null(strstr(client,
			       "http_client_request_duration_seconds_bucket{http_request_method=\"POST\","
			       "http_response_status_code=\"503\",http_route=\"_OTHER\",error_type=\"503\","
			       "network_protocol_version=\"1.1\",server_address=\"10.1.2.3\","
			       "server_port=\"8080\",url_scheme=\"http\"," PL ",le=\"1\"} 0\n"));
	assert_non_null(strstr(client, PL ",le=\"2.5\"} 1\n"));
	assert_non_null(strstr(client,
			       "_sum{http_request_method=\"POST\",http_response_status_code=\"503\","
			       "http_route=\"_OTHER\",error_type=\"503\",network_protocol_version=\"1.1\","
			       "server_address=\"10.1.2.3\",server_port=\"8080\",url_scheme=\"http\"," PL
			       "} 2.000000000\n"));
	/* no client series inside the server family */
	const char *first_post = strstr(sb.buf, "\"POST\"");
	assert_true(first_post > client);
	sb_free(&sb);
}

/* Requests that got no response: no http_response_status_code, error_type says why, on both
 * sides; a status past the known reasons is still no response. */
static void test_no_response(void **state)
{
	(void)state;
	struct dp_hist_entry h[3] = { 0 };
	h[0].key = (struct obsbpf_hist_key){ .route_id = OBSBPF_ROUTE_OVERFLOW,
					     .status = OBSBPF_STATUS_TIMEOUT,
					     .method = OBSBPF_M_GET,
					     .dir = OBSBPF_DIR_CLIENT,
					     .family = 2 /* AF_INET */,
					     .peer_port = 8080,
					     .peer = { 10, 1, 2, 3 } };
	h[1].key = (struct obsbpf_hist_key){ .route_id = OBSBPF_ROUTE_OVERFLOW,
					     .status = OBSBPF_STATUS_CONN_CLOSED,
					     .method = OBSBPF_M_GET,
					     .dir = OBSBPF_DIR_SERVER };
	h[2].key = h[1].key;
	h[2].key.status = OBSBPF_STATUS_CONN_RESET;
	for (int i = 0; i < 3; i++) {
		h[i].val.count = 1;
		h[i].val.sum_ns = 1000000000ull;
		h[i].val.buckets[14] = 1; /* (750 ms, 1 s] */
	}
	struct strbuf sb;
	sb_init(&sb);
	red_render(&sb, EXPO_PROMETHEUS, &L, h, 3, NULL, 0, NULL);
	assert_null(strstr(sb.buf, "http_response_status_code"));
	assert_non_null(strstr(sb.buf,
			       "http_client_request_duration_seconds_count{http_request_method=\"GET\","
			       "http_route=\"_OTHER\",error_type=\"timeout\","
			       "network_protocol_version=\"1.1\",server_address=\"10.1.2.3\","
			       "server_port=\"8080\",url_scheme=\"http\"," PL "} 1\n"));
	assert_non_null(strstr(sb.buf,
			       "http_server_request_duration_seconds_count{http_request_method=\"GET\","
			       "http_route=\"_OTHER\",error_type=\"connection_closed\"," SV "} 1\n"));
	assert_non_null(strstr(sb.buf,
			       "http_server_request_duration_seconds_bucket{http_request_method=\"GET\","
			       "http_route=\"_OTHER\",error_type=\"connection_reset\"," SV ",le=\"1\"} 1\n"));
	sb_free(&sb);

	assert_string_equal(red_no_response_name(OBSBPF_STATUS_TIMEOUT), "timeout");
	assert_string_equal(red_no_response_name(OBSBPF_STATUS_CONN_RESET), "connection_reset");
	assert_string_equal(red_no_response_name(OBSBPF_STATUS_CONN_CLOSED), "connection_closed");
	assert_string_equal(red_no_response_name(OBSBPF_STATUS_NO_RESPONSE_MAX), "_OTHER");
	assert_null(red_no_response_name(599));
	assert_null(red_no_response_name(0));
}

static void test_label_escaping(void **state)
{
	(void)state;
	struct pod_labels l = { "we\"ird\\pod\nx", "ns", "n" };
	struct agent_counters c = { .events_read = 5 };
	struct strbuf sb;
	sb_init(&sb);
	agent_counters_render(&sb, EXPO_PROMETHEUS, &l, &c);
	assert_non_null(strstr(sb.buf, "obsbpf_events_read_total{k8s_pod_name=\"we\\\"ird\\\\pod\\nx\","));
	sb_free(&sb);
}

static void test_agent_counters(void **state)
{
	(void)state;
	struct agent_counters c = { .events_read = 42, .routes_used = 3, .routes_max = 256 };
	c.stats[OBSBPF_ST_CONN_TLS] = 2;
	c.stats[OBSBPF_ST_EVENTS_DROPPED] = 9;
	c.stats[OBSBPF_ST_CONN_OPEN_CLIENT] = 11;
	struct strbuf sb;
	sb_init(&sb);
	agent_counters_render(&sb, EXPO_PROMETHEUS, &L, &c);
	assert_non_null(strstr(sb.buf, "obsbpf_connections_unparsed_total{protocol=\"tls\"," PL "} 2\n"));
	assert_non_null(strstr(sb.buf, "obsbpf_events_dropped_total{" PL "} 9\n"));
	assert_non_null(strstr(sb.buf, "obsbpf_events_read_total{" PL "} 42\n"));
	assert_non_null(
		strstr(sb.buf, "obsbpf_tcp_connections_opened_total{direction=\"outbound\"," PL "} 11\n"));
	assert_non_null(strstr(sb.buf, "obsbpf_routes_limit{" PL "} 256\n"));
	assert_non_null(strstr(sb.buf, "# TYPE obsbpf_routes gauge\n"));
	sb_free(&sb);
}

/* A snapshot that caught a CPU between its count and bucket increments: +Inf and _count never
 * fall below the buckets. */
static void test_torn_snapshot(void **state)
{
	(void)state;
	struct dp_hist_entry h[1] = { 0 };
	h[0].key = (struct obsbpf_hist_key){ .route_id = OBSBPF_ROUTE_OVERFLOW,
					     .status = 200,
					     .method = OBSBPF_M_GET,
					     .dir = OBSBPF_DIR_SERVER };
	h[0].val.count = 2;
	h[0].val.buckets[0] = 2;
	h[0].val.buckets[2] = 1;
	struct strbuf sb;
	sb_init(&sb);
	red_render(&sb, EXPO_OPENMETRICS, &L, h, 1, NULL, 0, NULL);
	assert_non_null(strstr(sb.buf, SV ",le=\"0.005\"} 3\n"));
	assert_non_null(strstr(sb.buf, SV ",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(sb.buf,
			       "_count{http_request_method=\"GET\",http_response_status_code=\"200\","
			       "http_route=\"_OTHER\"," SV "} 3\n"));
	sb_free(&sb);
}

static void test_empty_snapshot(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	red_render(&sb, EXPO_PROMETHEUS, &L, NULL, 0, NULL, 0, NULL);
	/* Families are declared even before the first request, so dashboards find them. */
	assert_non_null(strstr(sb.buf, "# TYPE http_server_request_duration_seconds histogram\n"));
	assert_null(strstr(sb.buf, "_bucket"));
	sb_free(&sb);
}

/* Daemon mode: each entry under its own pod's labels, one HELP/TYPE per family, entries of a
 * pod no longer attached left out; node-wide counters carry only k8s_node_name. */
static void test_several_pods(void **state)
{
	(void)state;
	struct dp_hist_entry h[3] = { 0 };
	for (int i = 0; i < 3; i++) {
		h[i].key = (struct obsbpf_hist_key){ .pod_id = (uint32_t)(i + 1),
						     .route_id = OBSBPF_ROUTE_OVERFLOW,
						     .status = 200,
						     .method = OBSBPF_M_GET,
						     .dir = OBSBPF_DIR_SERVER };
		h[i].val.count = (uint64_t)(10 * (i + 1));
	}
	struct red_pod pods[2] = { { 1, { "web-1", "shop", "n" } }, { 3, { "api-1", "shop", "n" } } };
	struct strbuf sb;
	sb_init(&sb);
	red_render_pods(&sb, EXPO_PROMETHEUS, pods, 2, h, 3, NULL, 0, NULL);
	assert_non_null(strstr(sb.buf,
			       "http_server_request_duration_seconds_count{http_request_method=\"GET\","
			       "http_response_status_code=\"200\",http_route=\"_OTHER\","
			       "network_protocol_version=\"1.1\",url_scheme=\"http\",k8s_pod_name=\"web-1\","
			       "k8s_namespace_name=\"shop\",k8s_node_name=\"n\"} 10\n"));
	assert_non_null(strstr(
		sb.buf, "k8s_pod_name=\"api-1\",k8s_namespace_name=\"shop\",k8s_node_name=\"n\"} 30\n"));
	assert_null(strstr(sb.buf, "} 20\n")); /* pod 2 is gone */
	const char *first = strstr(sb.buf, "# TYPE http_server_request_duration_seconds histogram");
	assert_non_null(first);
	assert_null(strstr(first + 1, "# TYPE http_server_request_duration_seconds histogram"));
	sb_free(&sb);

	struct pod_labels node = { NULL, NULL, "n" };
	struct agent_counters c = { 0 };
	c.events_read = 5;
	sb_init(&sb);
	agent_counters_render(&sb, EXPO_PROMETHEUS, &node, &c);
	assert_non_null(strstr(sb.buf, "obsbpf_events_read_total{k8s_node_name=\"n\"} 5\n"));
	assert_null(strstr(sb.buf, "k8s_pod_name"));
	sb_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_histogram), cmocka_unit_test(test_client_overflow_route),
		cmocka_unit_test(test_no_response),	 cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_agent_counters),	 cmocka_unit_test(test_torn_snapshot),
		cmocka_unit_test(test_empty_snapshot),	 cmocka_unit_test(test_several_pods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
