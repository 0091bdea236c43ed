// SPDX-License-Identifier: GPL-2.0
/* The service graph renderer (user/metrics/graph.c) on hand-made snapshots of the two views. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "metrics/graph.h"
#include "metrics/graph_store.h"
#include "util/strbuf.h"

/* Pods a (10.0.0.1) calls b (10.0.0.2); b is also called by 10.9.9.9, which is no pod here. */
static const char a_addrs[][INET6_ADDRSTRLEN] = { "10.0.0.1" };
static const char b_addrs[][INET6_ADDRSTRLEN] = { "fd00::2", "10.0.0.2" };
static struct graph_pod pods[2] = {
	{ .id = 1, .name = "a", .namespace_ = "shop", .addrs = a_addrs, .naddrs = 1 },
	{ .id = 2, .name = "b", .namespace_ = "stock", .addrs = b_addrs, .naddrs = 2 },
};

static struct dp_hist_entry client(uint32_t pod, uint16_t status, uint8_t last, uint64_t n)
{
	struct dp_hist_entry e = { 0 };
	e.key = (struct obsbpf_hist_key){ .pod_id = pod,
					  .status = status,
					  .dir = OBSBPF_DIR_CLIENT,
					  .family = AF_INET,
					  .peer_port = 8080,
					  .peer = { 10, 0, 0, last } };
	e.val.count = n;
	e.val.sum_ns = n * 1000000;
	e.val.buckets[3] = n;
	return e;
}

/* graph_hist: IPv4 clients arrive on dual-stack servers as IPv4-mapped IPv6. */
static struct dp_hist_entry server(uint32_t pod, uint16_t failed, const uint8_t *v4, uint64_t n)
{
	struct dp_hist_entry e = { 0 };
	e.key = (struct obsbpf_hist_key){ .pod_id = pod, .status = failed, .dir = OBSBPF_DIR_SERVER };
	if (v4) {
		e.key.family = AF_INET6;
		e.key.peer[10] = e.key.peer[11] = 0xff;
		memcpy(&e.key.peer[12], v4, 4);
	}
	e.val.count = n;
	e.val.sum_ns = n * 2000000;
	e.val.buckets[5] = n;
	return e;
}

#define AB                                                                                   \
	"client=\"a\",server=\"b\",connection_type=\"\",client_k8s_namespace_name=\"shop\"," \
	"server_k8s_namespace_name=\"stock\",k8s_node_name=\"n1\""

static void test_both_views(void **state)
{
	(void)state;
	static const uint8_t a4[4] = { 10, 0, 0, 1 }, ext[4] = { 10, 9, 9, 9 };
	/* a's view: 5 requests to b (one 404), 2 to 10.0.0.7; b's view: 5 from a (one a 5xx),
	 * 3 from 10.9.9.9, 6 under the address-less key. */
	struct dp_hist_entry h[] = { client(1, 200, 2, 4),
				     client(1, 404, 2, 1),
				     client(1, 200, 7, 2),
				     /* a server series of http_hist: not the graph's */
				     { .key = { .pod_id = 2, .status = 200, .dir = OBSBPF_DIR_SERVER },
				       .val = { .count = 99 } } };
	struct dp_hist_entry g[] = { server(2, 0, a4, 4), server(2, 1, a4, 1), server(2, 0, ext, 3),
				     server(2, 0, NULL, 6) /* the map was full */ };
	struct strbuf sb;
	sb_init(&sb);
	graph_render(&sb, EXPO_PROMETHEUS, "n1", pods, 2, h, 4, g, 4);
	const char *s = sb.buf;
	assert_false(sb.oom);
	assert_non_null(strstr(s, "# TYPE traces_service_graph_request_total counter\n"));
	assert_non_null(strstr(s, "traces_service_graph_request_total{" AB "} 5\n"));
	/* The client saw a 404 and the server a 500: one failed each, the larger of the two. */
	assert_non_null(strstr(s, "traces_service_graph_request_failed_total{" AB "} 1\n"));
	assert_non_null(strstr(s, "traces_service_graph_request_server_seconds_count{" AB "} 5\n"));
	assert_non_null(strstr(s, "traces_service_graph_request_client_seconds_count{" AB "} 5\n"));
	assert_non_null(strstr(s, "traces_service_graph_request_client_seconds_sum{" AB "} 0.005000000\n"));
	/* Peers that are no pod here stay addresses: virtual nodes, one view only. */
	assert_non_null(strstr(s,
			       "traces_service_graph_request_total{client=\"a\",server=\"10.0.0.7\","
			       "connection_type=\"virtual_node\",client_k8s_namespace_name=\"shop\","
			       "server_k8s_namespace_name=\"\",k8s_node_name=\"n1\"} 2\n"));
	assert_non_null(strstr(s,
			       "traces_service_graph_request_total{client=\"10.9.9.9\",server=\"b\","
			       "connection_type=\"virtual_node\""));
	assert_null(strstr(
		s, "traces_service_graph_request_server_seconds_count{client=\"a\",server=\"10.0.0.7\""));
	assert_non_null(strstr(s, "traces_service_graph_request_total{client=\"other\",server=\"b\""));
	/* Four edges, each once per counter family; b's http_hist server series is not one. */
	int edges = 0;
	for (const char *p = s; (p = strstr(p, "\ntraces_service_graph_request_total{")); p++)
		edges++;
	assert_int_equal(edges, 4);
	assert_null(strstr(s, "} 99\n"));
	sb_free(&sb);
}

static void test_detached_and_empty(void **state)
{
	(void)state;
	struct dp_hist_entry h[] = { client(9, 200, 2, 4) }; /* pod 9: detached meanwhile */
	struct strbuf sb;
	sb_init(&sb);
	graph_render(&sb, EXPO_OPENMETRICS, "n1", pods, 2, h, 1, NULL, 0);
	assert_null(strstr(sb.buf, "traces_service_graph_request_total{"));
	/* OpenMetrics: the counter family is named without _total, the histograms carry a unit. */
	assert_non_null(strstr(sb.buf, "# TYPE traces_service_graph_request counter\n"));
	assert_non_null(strstr(sb.buf, "# UNIT traces_service_graph_request_server_seconds seconds\n"));
	sb_free(&sb);
}

/* graph_store: user space's views (HTTP/2, gRPC, TLS) of both sides, bounded. */
static void test_store(void **state)
{
	(void)state;
	struct graph_store *st = graph_store_new(3);
	assert_non_null(st);
	struct obsbpf_addrs to_b = { .family = AF_INET, .remote = { 10, 0, 0, 2 } };
	struct obsbpf_addrs from_a = { .family = AF_INET, .remote = { 10, 0, 0, 1 } };
	struct obsbpf_addrs far = { .family = AF_INET, .remote = { 10, 7, 7, 7 } };
	for (int i = 0; i < 3; i++)
		graph_store_record(st, 1, OBSBPF_DIR_CLIENT, &to_b, i == 0, 1000000);
	graph_store_record(st, 2, OBSBPF_DIR_SERVER, &from_a, false, 2000000);
	graph_store_record(st, 2, OBSBPF_DIR_SERVER, &from_a, false, 2000000);
	graph_store_record(st, 2, OBSBPF_DIR_SERVER, &from_a, true, 2000000); /* full: "other" */
	graph_store_record(st, 2, OBSBPF_DIR_SERVER, &far, false, 2000000);   /* full: "other" */
	assert_int_equal(graph_store_other(st), 2);
	int n;
	const struct dp_hist_entry *e = graph_store_entries(st, &n);
	assert_int_equal(n, 5); /* a: an ok and a failed key; b: an ok key, "other" ok and failed */
	struct strbuf sb;
	sb_init(&sb);
	graph_render(&sb, EXPO_PROMETHEUS, "n1", pods, 2, NULL, 0, e, n);
	assert_non_null(strstr(sb.buf, "traces_service_graph_request_total{" AB "} 3\n"));
	assert_non_null(strstr(sb.buf, "traces_service_graph_request_failed_total{" AB "} 1\n"));
	assert_non_null(strstr(sb.buf, "traces_service_graph_request_server_seconds_count{" AB "} 2\n"));
	assert_non_null(strstr(sb.buf, "traces_service_graph_request_total{client=\"other\",server=\"b\","));
	sb_free(&sb);
	graph_store_forget_pod(st, 1);
	e = graph_store_entries(st, &n);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++)
		assert_int_equal(e[i].key.pod_id, 2);
	/* Forgotten keys are found again after the index was refilled. */
	graph_store_record(st, 2, OBSBPF_DIR_SERVER, &from_a, false, 1);
	e = graph_store_entries(st, &n);
	assert_int_equal(n, 3);
	graph_store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_views),
		cmocka_unit_test(test_detached_and_empty),
		cmocka_unit_test(test_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
