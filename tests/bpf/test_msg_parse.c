// SPDX-License-Identifier: GPL-2.0
/* sk_msg parsing, in the manner of Cilium's bpf/tests. The kernel has no BPF_PROG_RUN for
 * BPF_PROG_TYPE_SK_MSG, so the cases send crafted writes on a real loopback connection: sockops
 * put its client end into pod_socks, where the fixture attached the real obsbpf_msg as the agent
 * does, and the program runs in this thread, inside send(). Each case checks what sk_msg leaves
 * behind: the client's request FIFO in conn_state, the routes map, the counters, and what the
 * server end received, byte for byte but for an inserted trace header.
 *
 * Only what sk_msg does is asserted (the FIFO, the stream), not how it keeps its place in the
 * stream: that bookkeeping is free to change.
 * Needs root (BPF, cgroup, TCP_REPAIR); every case skips otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cases.h"

#define LO_CIDR	   "127.0.0.0/8" /* where the pair's server is */
#define OTHER_CIDR "10.0.0.0/8"

#define TP_TRACE "0af7651916cd43dd8448eb211c80319c"
#define TP_SPAN	 "b7ad6b7169203331"
#define TP_HDR	 "traceparent: 00-" TP_TRACE "-" TP_SPAN "-01\r\n"

/* Cases that trace: inject_to lists the server's address, or only somewhere else. */
static int setup_inject_lo(void **state)
{
	(void)state;
	return case_open(LO_CIDR);
}

static int setup_inject_elsewhere(void **state)
{
	(void)state;
	return case_open(OTHER_CIDR);
}

/* One write of the client, whole: sk_msg runs on it in this call. */
static void client_send(const void *b, size_t n)
{
	int one = 1; /* each write its own segment at once, not held back by Nagle */
	assert_int_equal(setsockopt(pr.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	assert_int_equal(send(pr.client, b, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void client_sends(const char *s)
{
	client_send(s, strlen(s));
}

/* Reads from the server end until want bytes came (1 s at most), then whatever else is already
 * there. Returns the bytes read. */
static size_t server_read(char *buf, size_t cap, size_t want)
{
	size_t got = 0;
	struct pollfd p = { .fd = pr.server, .events = POLLIN };
	while (got < want && got < cap && poll(&p, 1, 1000) == 1) {
		ssize_t r = recv(pr.server, buf + got, cap - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	for (ssize_t r; got < cap && (r = recv(pr.server, buf + got, cap - got, MSG_DONTWAIT)) > 0;)
		got += (size_t)r;
	return got;
}

/* The server end received exactly want (n bytes), nothing more. */
static void server_got_n(const char *want, size_t n)
{
	char buf[4096];
	assert_true(n < sizeof(buf));
	size_t got = server_read(buf, sizeof(buf), n);
	assert_int_equal(got, n);
	assert_memory_equal(buf, want, n);
}

static void server_got(const char *want)
{
	server_got_n(want, strlen(want));
}

static struct obsbpf_conn client_conn(void)
{
	return conn_of(pr.client);
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void hexstr(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* The traceparent line for the client span t, written here, not with the kernel's formatter. */
static void traceparent_of(const struct obsbpf_trace *t, char *out, size_t n)
{
	char tid[33], sid[17];
	hexstr(t->trace_id, 16, tid);
	hexstr(t->span_id, 8, sid);
	snprintf(out, n, "traceparent: 00-%s-%s-%02x\r\n", tid, sid, t->flags);
}

/* No trace header went in and no tracing decision was taken: the stream is left alone. */
static void assert_no_trace_stats(void)
{
	static const enum obsbpf_stat trace_stats[] = {
		OBSBPF_ST_TRACE_INJECTED,      OBSBPF_ST_TRACE_CONTINUED,    OBSBPF_ST_TRACE_INVALID,
		OBSBPF_ST_TRACE_THREAD,	       OBSBPF_ST_TRACE_UNCORRELATED, OBSBPF_ST_TRACE_NOT_ALLOWED,
		OBSBPF_ST_TRACE_INJECT_FAILED, OBSBPF_ST_TRACE_HEAD_SPLIT,
	};
	for (size_t i = 0; i < sizeof(trace_stats) / sizeof(trace_stats[0]); i++)
		assert_int_equal(bpfut_stat(&fx, trace_stats[i]), 0);
}

static void test_get_head(void **state)
{
	(void)state;
	NEED_ROOT();
	const char *req = "GET /users/42?x=1 HTTP/1.1\r\nHost: t\r\nAccept: */*\r\n\r\n";
	uint64_t before = bpfut_now_ns();
	client_sends(req);
	uint64_t after = bpfut_now_ns();

	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_HTTP1);
	assert_int_equal(c.head, 0);
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.q[0].method, OBSBPF_M_GET);
	assert_int_equal(c.q[0].route_id, route_of(req));
	assert_route(c.q[0].route_id, "/users/42"); /* the raw path, without its query */
	assert_true(c.q[0].start_ns >= before && c.q[0].start_ns <= after);
	assert_int_equal(c.q[0].tid, (uint32_t)gettid());      /* the span's thread: the sender */
	assert_int_equal(c.q[0].trace.origin, OBSBPF_TO_NONE); /* tracing is off */
	server_got(req);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OTHER), 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_MALFORMED), 0);
	/* Nothing is recorded before the response. */
	assert_int_equal(bpfut_hist_series(&fx), 0);
	assert_int_equal(bpfut_events(&fx), 0);
}

/* A head over two writes: timed from the first; the second, which starts with a header line, is
 * not taken for anything. Tracing on: a head not seen whole gets no header. */
static void test_head_split(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace(&fx, OBSBPF_PROP_W3C, UINT64_MAX), 0);
	const char *a = "GET /split HTTP/1.1\r\nHost: t\r\n", *b = "Connection: keep-alive\r\n\r\n";
	client_sends(a);
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.q[0].method, OBSBPF_M_GET);
	assert_route(c.q[0].route_id, "/split");
	client_sends(b);
	c = client_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_HTTP1);
	assert_int_equal(c.tail, 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OTHER), 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_MALFORMED), 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_INJECTED), 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_HEAD_SPLIT), 1);
	server_got("GET /split HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n");
}

/* Two requests in one write: each is timed (the verdict is split where the first ends, so the
 * program runs again where the second starts). */
static void test_pipelined(void **state)
{
	(void)state;
	NEED_ROOT();
	const char *r1 = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n",
		   *r2 = "DELETE /b/9 HTTP/1.1\r\nHost: t\r\n\r\n";
	char both[256];
	snprintf(both, sizeof(both), "%s%s", r1, r2);
	client_sends(both);
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.tail, 2);
	assert_int_equal(c.q[0].method, OBSBPF_M_GET);
	assert_int_equal(c.q[1].method, OBSBPF_M_DELETE);
	assert_int_equal(c.q[0].route_id, route_of(r1));
	assert_int_equal(c.q[1].route_id, route_of(r2));
	assert_route(c.q[0].route_id, "/a");
	assert_route(c.q[1].route_id, "/b/9");
	assert_true(c.q[0].start_ns > 0 && c.q[1].start_ns >= c.q[0].start_ns);
	server_got(both);
}

/* The same with injection: each request gets its own header, after its own request line. */
static void test_pipelined_traced(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace(&fx, OBSBPF_PROP_W3C, UINT64_MAX), 0);
	client_sends("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n");
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.tail, 2);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_INJECTED), 2);
	char tp0[128], tp1[128], want[512];
	traceparent_of(&c.q[0].trace, tp0, sizeof(tp0));
	traceparent_of(&c.q[1].trace, tp1, sizeof(tp1));
	snprintf(want, sizeof(want),
		 "GET /a HTTP/1.1\r\n%sHost: t\r\n\r\nGET /b HTTP/1.1\r\n%sHost: t\r\n\r\n", tp0, tp1);
	server_got(want);
	assert_memory_not_equal(c.q[0].trace.trace_id, c.q[1].trace.trace_id, 16); /* two traces */
}

/* Body bytes that look like a request are body: Content-Length says where the next one starts. */
static void test_body_not_request(void **state)
{
	(void)state;
	NEED_ROOT();
	const char *head = "POST /upload HTTP/1.1\r\nContent-Length: 18\r\n\r\n",
		   *body = "GET / HTTP/1.1\r\n\r\n", *next = "GET /next HTTP/1.1\r\n\r\n";
	assert_int_equal(strlen(body), 18);
	client_sends(head);
	client_sends(body);
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.q[0].method, OBSBPF_M_POST);
	assert_route(c.q[0].route_id, "/upload");
	char got[OBSBPF_ROUTE_LEN + 1];
	assert_int_equal(bpfut_route(&fx, route_of(body), got, sizeof(got)), -ENOENT);
	/* Where the body ends, the next request is parsed. */
	client_sends(next);
	c = client_conn();
	assert_int_equal(c.tail, 2);
	assert_int_equal(c.q[1].method, OBSBPF_M_GET);
	assert_route(c.q[1].route_id, "/next");
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_MALFORMED), 0);
	char all[256];
	snprintf(all, sizeof(all), "%s%s%s", head, body, next);
	server_got(all);
}

/* A request that carries a valid traceparent continues it: the header is never replaced, and no
 * second one is added, though the destination may receive injected headers. */
static void test_traceparent_continued(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace(&fx, OBSBPF_PROP_W3C, UINT64_MAX), 0);
	const char *req = "GET /t HTTP/1.1\r\nHost: t\r\n" TP_HDR "\r\n";
	client_sends(req);
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.tail, 1);
	const struct obsbpf_trace *t = &c.q[0].trace;
	char tid[33], parent[17];
	hexstr(t->trace_id, 16, tid);
	hexstr(t->parent_id, 8, parent);
	assert_int_equal(t->origin, OBSBPF_TO_HEADER);
	assert_string_equal(tid, TP_TRACE);
	assert_string_equal(parent, TP_SPAN); /* the sender's span is the parent */
	assert_int_equal(t->injected, 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_CONTINUED), 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_INJECTED), 0);
	server_got(req);
	assert_int_equal(count(req, "traceparent:"), 1);
}

/* Tracing on, the destination in inject_to, no header sent: one traceparent goes in right after
 * the request line, naming the client span; the rest of the stream is as sent. */
static void test_trace_injected(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace(&fx, OBSBPF_PROP_W3C, UINT64_MAX), 0);
	client_sends("GET /t HTTP/1.1\r\nHost: t\r\n\r\n");
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.tail, 1);
	const struct obsbpf_trace *t = &c.q[0].trace;
	uint8_t zero[8] = { 0 };
	assert_int_equal(t->origin, OBSBPF_TO_NEW);
	assert_int_equal(t->injected, 1);
	assert_int_equal(t->flags, OBSBPF_TRACE_SAMPLED); /* sample threshold: all */
	assert_memory_equal(t->parent_id, zero, 8);	  /* a root span */
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_INJECTED), 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_UNCORRELATED), 1);
	char tp[128], want[256];
	traceparent_of(t, tp, sizeof(tp));
	snprintf(want, sizeof(want), "GET /t HTTP/1.1\r\n%sHost: t\r\n\r\n", tp);
	server_got(want);
	assert_int_equal(count(want, "traceparent:"), 1);
}

/* A destination outside inject_to gets no header; the request is still a span, and counted. */
static void test_inject_not_allowed(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace(&fx, OBSBPF_PROP_W3C, UINT64_MAX), 0);
	const char *req = "GET /t HTTP/1.1\r\nHost: t\r\n\r\n";
	client_sends(req);
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.q[0].trace.origin, OBSBPF_TO_NEW);
	assert_int_equal(c.q[0].trace.injected, 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_NOT_ALLOWED), 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_INJECTED), 0);
	server_got(req);
}

/* --propagate sampled, a new root that sampling does not keep: no header, the request passes as
 * sent (only the parse is paid); it is still timed, with its context, and counted. */
static void test_sampled_mode_unsampled_root(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace_mode(&fx, OBSBPF_PROP_W3C, 0, OBSBPF_PROPAGATE_SAMPLED), 0);
	const char *req = "GET /t HTTP/1.1\r\nHost: t\r\n\r\n";
	client_sends(req);
	client_sends(req);
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.tail, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(c.q[i].trace.origin, OBSBPF_TO_NEW);
		assert_int_equal(c.q[i].trace.flags, 0);
		assert_int_equal(c.q[i].trace.injected, 0);
	}
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_NOT_SAMPLED), 2);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_INJECTED), 0);
	char both[128];
	snprintf(both, sizeof(both), "%s%s", req, req);
	server_got(both);
}

/* --propagate sampled, a sampled root: inserted as with always. */
static void test_sampled_mode_sampled_root(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace_mode(&fx, OBSBPF_PROP_W3C, UINT64_MAX, OBSBPF_PROPAGATE_SAMPLED), 0);
	client_sends("GET /t HTTP/1.1\r\nHost: t\r\n\r\n");
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.tail, 1);
	const struct obsbpf_trace *t = &c.q[0].trace;
	assert_int_equal(t->flags, OBSBPF_TRACE_SAMPLED);
	assert_int_equal(t->injected, 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_NOT_SAMPLED), 0);
	char tp[128], want[256];
	traceparent_of(t, tp, sizeof(tp));
	snprintf(want, sizeof(want), "GET /t HTTP/1.1\r\n%sHost: t\r\n\r\n", tp);
	server_got(want);
}

/* --propagate sampled: an app's own unsampled traceparent is continued and passes as sent (no
 * insertion was needed, none is counted as skipped). */
static void test_sampled_mode_app_unsampled(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace_mode(&fx, OBSBPF_PROP_W3C, UINT64_MAX, OBSBPF_PROPAGATE_SAMPLED), 0);
	const char *req = "GET /t HTTP/1.1\r\nHost: t\r\ntraceparent: 00-" TP_TRACE "-" TP_SPAN "-00\r\n\r\n";
	client_sends(req);
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.q[0].trace.origin, OBSBPF_TO_HEADER);
	assert_int_equal(c.q[0].trace.flags, 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_CONTINUED), 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_TRACE_NOT_SAMPLED), 0);
	server_got(req);
}

/* A first write that is no request makes the connection "other": it is left alone from then on,
 * even when a later write looks like a request and injection is on. */
static void test_garbage_first(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace(&fx, OBSBPF_PROP_W3C, UINT64_MAX), 0);
	const char bin[] = "\x00\x01\x02\x03\xfe\xff garbage\r\n\r\n";
	const char *req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
	client_send(bin, sizeof(bin) - 1);
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_OTHER);
	assert_int_equal(c.tail, 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OTHER), 1);
	client_sends(req);
	c = client_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_OTHER);
	assert_int_equal(c.tail, 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_MALFORMED), 0);
	assert_no_trace_stats();
	char want[128];
	memcpy(want, bin, sizeof(bin) - 1);
	memcpy(want + sizeof(bin) - 1, req, strlen(req));
	server_got_n(want, sizeof(bin) - 1 + strlen(req));
}

/* A TLS ClientHello: classified TLS, passed through. */
static void test_tls_first(void **state)
{
	(void)state;
	NEED_ROOT();
	const char hello[] = "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00";
	client_send(hello, sizeof(hello) - 1);
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_TLS);
	assert_int_equal(c.tail, 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_TLS), 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OTHER), 0);
	server_got_n(hello, sizeof(hello) - 1);
}

/* A 1-byte first write ("G") cannot be told from a request yet: a placeholder waits in the FIFO
 * for the answer and nothing is parsed until then, neither the rest of that request nor a
 * header. After the answer (tc ingress, which records nothing for the placeholder) the next
 * request is parsed. */
static void test_one_byte_first(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace(&fx, OBSBPF_PROP_W3C, UINT64_MAX), 0);
	const char *rest = "ET /x HTTP/1.1\r\nHost: t\r\n\r\n";
	client_sends("G");
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.q[0].method, OBSBPF_M_UNSEEN);
	assert_int_equal(c.proto, OBSBPF_PROTO_UNKNOWN);
	client_sends(rest);
	c = client_conn();
	assert_int_equal(c.tail, 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OTHER), 0);
	assert_no_trace_stats();
	char got[OBSBPF_ROUTE_LEN + 1];
	assert_int_equal(bpfut_route(&fx, route_of("GET /x HTTP/1.1"), got, sizeof(got)), -ENOENT);
	server_got("GET /x HTTP/1.1\r\nHost: t\r\n\r\n");

	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	assert_int_equal(bpfut_ingress(&fx, &pr.saddr, &pr.caddr, pr.s2c_seq, ok, strlen(ok)), 0);
	assert_int_equal(client_conn().head, 1);
	assert_int_equal(bpfut_hist_series(&fx), 0);
	client_sends("GET /y HTTP/1.1\r\n\r\n");
	c = client_conn();
	assert_int_equal(c.tail, 2);
	assert_int_equal(c.q[1].method, OBSBPF_M_GET);
	assert_route(c.q[1].route_id, "/y");
	assert_int_equal(c.q[1].trace.injected, 1);
}

/* "GET key\r\n" has a method and a target but no HTTP version: Redis's inline command, not
 * HTTP. The connection is "other" and no write of it is touched. */
static void test_redis_inline(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace(&fx, OBSBPF_PROP_W3C, UINT64_MAX), 0);
	client_sends("GET key\r\n");
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_OTHER);
	assert_int_equal(c.tail, 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_OTHER), 1);
	client_sends("GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(client_conn().tail, 0);
	assert_no_trace_stats();
	server_got("GET key\r\nGET / HTTP/1.1\r\n\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_head, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_head_split, setup_inject_lo, case_teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_traced, setup_inject_lo, case_teardown),
		cmocka_unit_test_setup_teardown(test_body_not_request, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_traceparent_continued, setup_inject_lo, case_teardown),
		cmocka_unit_test_setup_teardown(test_trace_injected, setup_inject_lo, case_teardown),
		cmocka_unit_test_setup_teardown(test_inject_not_allowed, setup_inject_elsewhere,
						case_teardown),
		cmocka_unit_test_setup_teardown(test_sampled_mode_unsampled_root, setup_inject_lo,
						case_teardown),
		cmocka_unit_test_setup_teardown(test_sampled_mode_sampled_root, setup_inject_lo,
						case_teardown),
		cmocka_unit_test_setup_teardown(test_sampled_mode_app_unsampled, setup_inject_lo,
						case_teardown),
		cmocka_unit_test_setup_teardown(test_garbage_first, setup_inject_lo, case_teardown),
		cmocka_unit_test_setup_teardown(test_tls_first, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_one_byte_first, setup_inject_lo, case_teardown),
		cmocka_unit_test_setup_teardown(test_redis_inline, setup_inject_lo, case_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
