// SPDX-License-Identifier: GPL-2.0
/* tc ingress on requests under BPF_PROG_RUN, in the manner of Cilium's bpf/tests: the real
 * object, loaded as the agent loads it, runs crafted Ethernet/IPv4 (or IPv6)/TCP frames arriving
 * at a server end, and each case checks what the programs wrote: conn_state, routes, stats. The
 * answers, on client ends, are test_tc_response.c's.
 *
 * The frames name a real loopback connection of this process, made in a scratch cgroup where the
 * real sockops gives both ends their conn_state (tc ingress finds the receiving socket with
 * bpf_sk_lookup_tcp in the current netns, which is where BPF_PROG_RUN puts the skb: on lo).
 * Sequence numbers are the connection's own, read with TCP_REPAIR (cases.c: to_server,
 * to_client).
 * Needs root (BPF, cgroup, TCP_REPAIR); every case skips otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <obsbpf/http_parse.h>

#include "cases.h"
#include "obsbpf.skel.h"

static struct obsbpf_conn server_conn(void)
{
	return conn_of(pr.server);
}

/* The baseline every case starts from: what sockops wrote at ESTABLISHED. */
static void test_sockops_conn_state(void **state)
{
	(void)state;
	NEED_ROOT();
	struct obsbpf_conn s = server_conn(), c = conn_of(pr.client);
	assert_int_equal(s.pod_id, BPFUT_POD_ID);
	assert_int_equal(s.dir, OBSBPF_DIR_SERVER);
	assert_int_equal(c.dir, OBSBPF_DIR_CLIENT);
	assert_int_equal(s.proto, OBSBPF_PROTO_UNKNOWN);
	assert_int_equal(s.head, 0);
	assert_int_equal(s.tail, 0);
	/* The stream's first byte, which is what tells tc a connection's protocol. */
	assert_int_equal(s.rx_first_seq, pr.c2s_seq);
	assert_int_equal(c.rx_first_seq, pr.s2c_seq);
	assert_int_equal(s.addrs.local_port, ntohs(pr.saddr.sin_port));
	assert_int_equal(s.addrs.remote_port, ntohs(pr.caddr.sin_port));
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OPEN_SERVER), 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OPEN_CLIENT), 1);
}

static void test_request_head(void **state)
{
	(void)state;
	NEED_ROOT();
	const char *req = "GET /users/42?x=1 HTTP/1.1\r\nHost: t\r\nAccept: */*\r\n\r\n";
	uint64_t before = bpfut_now_ns();
	to_server(0, req);
	uint64_t after = bpfut_now_ns();

	struct obsbpf_conn c = server_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_HTTP1);
	assert_int_equal(c.head, 0);
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.q[0].method, OBSBPF_M_GET);
	assert_int_equal(c.q[0].route_id, route_of(req));
	assert_route(c.q[0].route_id, "/users/42"); /* the raw path, without its query */
	assert_true(c.q[0].start_ns >= before && c.q[0].start_ns <= after);
	assert_int_equal(c.q[0].trace.origin, OBSBPF_TO_NONE); /* tracing is off */
	/* No body: the next request starts right after the head. */
	assert_int_equal(c.rx_next_valid, 1);
	assert_int_equal(c.rx_next_seq, pr.c2s_seq + (uint32_t)strlen(req));
	assert_int_equal(c.rx_start_seq, pr.c2s_seq);
	/* Nothing is recorded before the response. */
	assert_int_equal(bpfut_hist_series(&fx), 0);
	assert_int_equal(bpfut_events(&fx), 0);
}

/* A head over two segments: the request is timed from the first; the second, which starts with
 * a header line, is not taken for anything. Where that head ends is not known, so the next
 * request is found by its first bytes (rx_next_valid 0). */
static void test_head_split(void **state)
{
	(void)state;
	NEED_ROOT();
	const char *a = "GET /split HTTP/1.1\r\nHost: t\r\n", *b = "Connection: keep-alive\r\n\r\n";
	to_server(0, a);
	struct obsbpf_conn c = server_conn();
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.rx_next_valid, 0);
	to_server((uint32_t)strlen(a), b);
	c = server_conn();
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.proto, OBSBPF_PROTO_HTTP1);
	assert_int_equal(c.q[0].method, OBSBPF_M_GET);
	assert_route(c.q[0].route_id, "/split");
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OTHER), 0);

	to_server((uint32_t)(strlen(a) + strlen(b)), "PUT /next HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	c = server_conn();
	assert_int_equal(c.tail, 2);
	assert_int_equal(c.q[1].method, OBSBPF_M_PUT);
}

static void test_pipelined(void **state)
{
	(void)state;
	NEED_ROOT();
	const char *r1 = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n", *r2 = "DELETE /b/9 HTTP/1.0\nHost: t\n\n",
		   *r3 = "POST /c HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
	char seg[256];
	snprintf(seg, sizeof(seg), "%s%s%s", r1, r2, r3);
	to_server(0, seg);
	struct obsbpf_conn c = server_conn();
	assert_int_equal(c.tail, 3);
	assert_int_equal(c.q[0].method, OBSBPF_M_GET);
	assert_int_equal(c.q[1].method, OBSBPF_M_DELETE);
	assert_int_equal(c.q[2].method, OBSBPF_M_POST);
	assert_int_equal(c.q[0].route_id, route_of(r1));
	assert_int_equal(c.q[1].route_id, route_of(r2));
	assert_int_equal(c.q[2].route_id, route_of(r3));
	assert_route(c.q[1].route_id, "/b/9");
	/* network.protocol.version: HTTP/1.0 kept as such (a bare LF ends its line) */
	assert_int_equal(c.q[0].http10, 0);
	assert_int_equal(c.q[1].http10, 1);
	assert_int_equal(c.q[2].http10, 0);
	/* The last request's body is counted: the next one starts after it. */
	assert_int_equal(c.rx_next_seq, pr.c2s_seq + (uint32_t)strlen(seg));
}

/* One segment yields at most OBSBPF_PENDING requests; beyond that the FIFO is full. */
static void test_pipeline_depth(void **state)
{
	(void)state;
	NEED_ROOT();
	const char *r = "GET /d HTTP/1.1\r\n\r\n";
	char seg[256] = "";
	for (int i = 0; i < OBSBPF_PENDING + 1; i++)
		strcat(seg, r);
	to_server(0, seg);
	assert_int_equal(server_conn().tail, OBSBPF_PENDING);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_PENDING_FULL), 0);
	to_server((uint32_t)strlen(seg), r);
	assert_int_equal(server_conn().tail, OBSBPF_PENDING);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_PENDING_FULL), 1);
}

/* Body bytes that look like a request are body: Content-Length says where the next one starts. */
static void test_body_not_request(void **state)
{
	(void)state;
	NEED_ROOT();
	const char *head = "POST /upload HTTP/1.1\r\nContent-Length: 12\r\n\r\n";
	to_server(0, head);
	to_server((uint32_t)strlen(head), "GET /fake HTGET /real HTTP/1.1\r\n\r\n");
	struct obsbpf_conn c = server_conn();
	assert_int_equal(c.tail, 2);
	assert_int_equal(c.q[0].method, OBSBPF_M_POST);
	assert_int_equal(c.q[1].method, OBSBPF_M_GET);
	assert_route(c.q[1].route_id, "/real");
}

/* A chunked body's end is not followed: nothing after its head is parsed while the request
 * waits for its answer, whatever the chunks hold. */
static void test_chunked_body(void **state)
{
	(void)state;
	NEED_ROOT();
	const char *head = "POST /stream HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	to_server(0, head);
	struct obsbpf_conn c = server_conn();
	assert_int_equal(c.in_chunked, 1);
	assert_int_equal(c.rx_next_valid, 0);
	to_server((uint32_t)strlen(head), "GET /inside HTTP/1.1\r\n\r\n");
	c = server_conn();
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.q[0].method, OBSBPF_M_POST);
}

/* A request sent again: its bytes lie before where the next request starts (rx_next_seq), so
 * it is skipped as consumed. Where its end is not known (a head cut short), the start sequence
 * number catches it. */
static void test_retransmit_request(void **state)
{
	(void)state;
	NEED_ROOT();
	const char *req = "GET /again HTTP/1.1\r\n\r\n", *cut = "GET /cut HTTP/1.1\r\nHost: t\r\n";
	to_server(0, req);
	to_server(0, req);
	assert_int_equal(server_conn().tail, 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_RETRANSMIT), 0);
	to_server((uint32_t)strlen(req), cut);
	to_server((uint32_t)strlen(req), cut);
	assert_int_equal(server_conn().tail, 2);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_RETRANSMIT), 1);
}

#define TP_TRACE "0af7651916cd43dd8448eb211c80319c"
#define TP_SPAN	 "b7ad6b7169203331"

static void hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sscanf(s + 2 * i, "%2hhx", &out[i]), 1);
}

static void test_traceparent_continued(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace(&fx, OBSBPF_PROP_W3C, UINT64_MAX), 0);
	to_server(0, "GET /t HTTP/1.1\r\nHost: t\r\ntraceparent: 00-" TP_TRACE "-" TP_SPAN "-01\r\n\r\n");
	struct obsbpf_conn c = server_conn();
	assert_int_equal(c.tail, 1);
	const struct obsbpf_trace *t = &c.q[0].trace;
	uint8_t trace_id[16], parent[8], zero[8] = { 0 };
	hex(TP_TRACE, trace_id, sizeof(trace_id));
	hex(TP_SPAN, parent, sizeof(parent));
	assert_int_equal(t->origin, OBSBPF_TO_HEADER);
	assert_memory_equal(t->trace_id, trace_id, 16);
	assert_memory_equal(t->parent_id, parent, 8); /* the sender's span */
	assert_int_equal(t->flags, OBSBPF_TRACE_SAMPLED);
	assert_memory_not_equal(t->span_id, zero, 8); /* a span of its own */
	assert_memory_not_equal(t->span_id, parent, 8);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_CONTINUED), 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_INVALID), 0);
}

/* An invalid header is treated as absent: a new trace, counted. */
static void test_traceparent_invalid(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace(&fx, OBSBPF_PROP_W3C, 0), 0);
	to_server(0, "GET /t HTTP/1.1\r\ntraceparent: 00-" TP_TRACE "-" TP_SPAN "-zz\r\n\r\n");
	const struct obsbpf_trace t = server_conn().q[0].trace;
	uint8_t zero[16] = { 0 };
	assert_int_equal(t.origin, OBSBPF_TO_NEW);
	assert_memory_not_equal(t.trace_id, zero, 16);
	assert_memory_equal(t.parent_id, zero, 8); /* a root span */
	assert_int_equal(t.flags, 0);		   /* sample threshold 0: not sampled */
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_INVALID), 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_CONTINUED), 0);
}

/* A stream whose first bytes are no request is not HTTP: nothing in it is parsed again. */
static void test_garbage_first_bytes(void **state)
{
	(void)state;
	NEED_ROOT();
	to_server(0, "HELO mail.example\r\n");
	struct obsbpf_conn c = server_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_OTHER);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OTHER), 1);
	to_server(19, "GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(server_conn().tail, 0);
}

/* Bytes no HTTP message starts with are not even looked up: the connection is left as it was. */
static void test_binary_ignored(void **state)
{
	(void)state;
	NEED_ROOT();
	const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"; /* a TLS ClientHello's start */
	assert_int_equal(bpfut_ingress(&fx, &pr.caddr, &pr.saddr, pr.c2s_seq, hello, sizeof(hello) - 1), 0);
	struct obsbpf_conn c = server_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_UNKNOWN);
	assert_int_equal(c.tail, 0);
	assert_int_equal(c.rx_seq_valid, 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_TLS), 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OTHER), 0);
}

/* Later in a stream, a segment may start with any byte (a body, a split head): only the first
 * payload byte of the stream (rx_first_seq) may classify it. */
static void test_garbage_later(void **state)
{
	(void)state;
	NEED_ROOT();
	to_server(100, "GARBAGE that is not a method\r\n");
	struct obsbpf_conn c = server_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_UNKNOWN);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OTHER), 0);
	to_server(200, "GET /x HTTP/1.1\r\n\r\n");
	c = server_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_HTTP1);
	assert_int_equal(c.tail, 1);
}

/* The same parsing over IPv6: a request on the server end, its answer on a client end. */
static void test_ipv6(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_pair_open(&fx, &pr6, AF_INET6), 0);
	const char *req = "PATCH /v6/1 HTTP/1.1\r\nHost: t\r\n\r\n";
	assert_int_equal(bpfut_ingress6(&fx, &pr6.caddr6, &pr6.saddr6, pr6.c2s_seq, req, strlen(req)), 0);
	struct obsbpf_conn c;
	assert_int_equal(bpfut_conn_get(&fx, pr6.server, &c), 0);
	assert_int_equal(c.addrs.family, AF_INET6);
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.q[0].method, OBSBPF_M_PATCH);
	assert_int_equal(c.q[0].route_id, route_of(req));

	/* The client end: a request as sk_msg leaves it, then its response. */
	struct obsbpf_conn cc;
	assert_int_equal(bpfut_conn_get(&fx, pr6.client, &cc), 0);
	cc.q[0] =
		(struct obsbpf_pending){ .start_ns = bpfut_now_ns(), .method = OBSBPF_M_GET, .route_id = 66 };
	cc.tail = 1;
	assert_int_equal(bpfut_conn_set(&fx, pr6.client, &cc), 0);
	const char *resp = "HTTP/1.1 503 Service Unavailable\r\n\r\n";
	assert_int_equal(bpfut_ingress6(&fx, &pr6.saddr6, &pr6.caddr6, pr6.s2c_seq, resp, strlen(resp)), 0);
	assert_int_equal(bpfut_events(&fx), 1);
	assert_int_equal(fx.ev[0].status, 503);
	assert_int_equal(fx.ev[0].addrs.family, AF_INET6);
	assert_memory_equal(fx.ev[0].addrs.local, &in6addr_loopback, 16);
	assert_int_equal(fx.ev[0].addrs.local_port, ntohs(pr6.caddr6.sin6_port));
}

/* UDP, IP fragments and segments without payload are passed without a look. */
static void test_not_parsed(void **state)
{
	(void)state;
	NEED_ROOT();
	const char *req = "GET /no HTTP/1.1\r\n\r\n";
	uint8_t f[256];
	size_t n = bpfut_frame(f, sizeof(f), IPPROTO_UDP, &pr.caddr, &pr.saddr, 0, 0, req, strlen(req));
	assert_int_equal(bpfut_run(fx.skel->progs.obsbpf_tc_ingress, f, n), 0);
	n = bpfut_frame(f, sizeof(f), IPPROTO_TCP, &pr.caddr, &pr.saddr, pr.c2s_seq, 1, req, strlen(req));
	assert_int_equal(bpfut_run(fx.skel->progs.obsbpf_tc_ingress, f, n), 0);
	n = bpfut_frame(f, sizeof(f), IPPROTO_TCP, &pr.caddr, &pr.saddr, pr.c2s_seq, 0, "", 0);
	assert_int_equal(bpfut_run(fx.skel->progs.obsbpf_tc_ingress, f, n), 0);
	struct obsbpf_conn c = server_conn();
	assert_int_equal(c.tail, 0);
	assert_int_equal(c.rx_seq_valid, 0);
	assert_int_equal(c.proto, OBSBPF_PROTO_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sockops_conn_state, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_request_head, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_head_split, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_pipeline_depth, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_body_not_request, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_chunked_body, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_request, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_traceparent_continued, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_traceparent_invalid, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_garbage_first_bytes, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_binary_ignored, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_garbage_later, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_not_parsed, case_setup, case_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
