// SPDX-License-Identifier: GPL-2.0
/* tc on responses under BPF_PROG_RUN, in the manner of Cilium's bpf/tests: crafted frames
 * arriving at a client end with requests waiting answer them, and each case checks what was
 * recorded: conn_state, http_hist, stats and http_events. The requests' side is
 * test_tc_request.c's.
 *
 * The frames name a real loopback connection of this process, made in a scratch cgroup where the
 * real sockops gives both ends their conn_state (tc ingress finds the receiving socket with
 * bpf_sk_lookup_tcp in the current netns, which is where BPF_PROG_RUN puts the skb: on lo).
 * Sequence numbers are the connection's own, read with TCP_REPAIR (cases.c: to_server,
 * to_client).
 *
 * Not reachable here:
 * - tc egress past its conn_state lookup: it finds its connection through skb->sk, and
 *   BPF_PROG_RUN's skb carries a dummy socket of the kernel's with no conn_state, so server
 *   responses are not timed here (the integration tests time them). Its packet parsing and
 *   lookup run; test_egress_dummy_socket pins down that nothing is recorded.
 * - sk_msg, which puts client requests into the FIFO: the kernel has no BPF_PROG_RUN for
 *   BPF_PROG_TYPE_SK_MSG (test_msg_parse.c runs it on real sends instead). Here client requests
 *   are put into the pending FIFO from user space, as sk_msg would leave them.
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

static struct obsbpf_conn client_conn(void)
{
	return conn_of(pr.client);
}

/* What sk_msg leaves on a client connection for a request it saw (it cannot run here). */
static void client_sent(uint8_t method, uint32_t route, uint64_t start_ns, uint8_t origin)
{
	struct obsbpf_conn c = client_conn();
	struct obsbpf_pending *p = &c.q[c.tail & (OBSBPF_PENDING - 1)];
	memset(p, 0, sizeof(*p));
	p->start_ns = start_ns;
	p->method = method;
	p->route_id = route;
	p->tid = 4242;
	p->trace.origin = origin;
	if (c.proto == OBSBPF_PROTO_UNKNOWN) /* sk_msg classifies a stream by its first send */
		c.proto = OBSBPF_PROTO_HTTP1;
	c.tail++;
	assert_int_equal(bpfut_conn_set(&fx, pr.client, &c), 0);
}

/* Client series carry the server's address and port (server.address, server.port). */
static void client_peer(struct obsbpf_hist_key *k)
{
	k->family = AF_INET;
	k->peer_port = ntohs(pr.saddr.sin_port);
	memcpy(k->peer, &pr.saddr.sin_addr, 4);
}

/* The client series of (method, route, status) to the test's server: 0 and *v, or the lookup's
 * error. */
static int client_series(uint8_t method, uint32_t route, uint16_t status, struct obsbpf_hist_val *v)
{
	struct obsbpf_hist_key k = {
		.pod_id = BPFUT_POD_ID,
		.route_id = route,
		.status = status,
		.method = method,
		.dir = OBSBPF_DIR_CLIENT,
	};
	client_peer(&k);
	return bpfut_hist(&fx, &k, v);
}

static unsigned bucket_of(uint64_t ns)
{
	static const uint64_t bounds[] = { OBSBPF_HIST_BOUNDS };
	unsigned i = 0;
	while (i < OBSBPF_HIST_NBOUNDS && ns > bounds[i])
		i++;
	return i;
}

static void test_response_status_line(void **state)
{
	(void)state;
	NEED_ROOT();
	uint64_t start = bpfut_now_ns() - 2000000; /* sent 2 ms ago */
	client_sent(OBSBPF_M_GET, 1234, start, OBSBPF_TO_NONE);
	to_client(0, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");

	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.head, 1);
	assert_int_equal(c.tail, 1);
	struct obsbpf_hist_val v;
	assert_int_equal(client_series(OBSBPF_M_GET, 1234, 404, &v), 0);
	assert_int_equal(bpfut_hist_series(&fx), 1);
	assert_int_equal(v.count, 1);
	assert_true(v.sum_ns >= 2000000 && v.sum_ns < 1000000000);
	assert_int_equal(v.buckets[bucket_of(v.sum_ns)], 1);

	assert_int_equal(bpfut_events(&fx), 1);
	const struct obsbpf_http_event *e = &fx.ev[0];
	assert_int_equal(e->start_ns, start);
	assert_int_equal(e->end_ns - e->start_ns, v.sum_ns);
	assert_int_equal(e->status, 404);
	assert_int_equal(e->method, OBSBPF_M_GET);
	assert_int_equal(e->dir, OBSBPF_DIR_CLIENT);
	assert_int_equal(e->pod_id, BPFUT_POD_ID);
	assert_int_equal(e->route_id, 1234);
	assert_int_equal(e->tid, 4242); /* client spans: the thread sk_msg saw send the request */
	assert_int_equal(e->addrs.family, AF_INET);
	assert_int_equal(e->addrs.local_port, ntohs(pr.caddr.sin_port));
	assert_int_equal(e->addrs.remote_port, ntohs(pr.saddr.sin_port));
	assert_memory_equal(e->addrs.local, &pr.caddr.sin_addr, 4);
}

static void test_response_unmatched(void **state)
{
	(void)state;
	NEED_ROOT();
	to_client(0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_RESP_UNMATCHED), 1);
	assert_int_equal(bpfut_hist_series(&fx), 0);
	assert_int_equal(bpfut_events(&fx), 0);
}

/* A 100 Continue is not the answer: the final response in the same segment is. */
static void test_response_interim_then_final(void **state)
{
	(void)state;
	NEED_ROOT();
	client_sent(OBSBPF_M_POST, 77, bpfut_now_ns(), OBSBPF_TO_NONE);
	to_client(0, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	struct obsbpf_hist_val v;
	assert_int_equal(client_series(OBSBPF_M_POST, 77, 201, &v), 0);
	assert_int_equal(v.count, 1);
	assert_int_equal(bpfut_hist_series(&fx), 1);
	assert_int_equal(client_conn().head, 1);
}

/* Pipelined responses in one segment: each answers the next request waiting, a HEAD's without
 * a body though it names a length. */
static void test_responses_pipelined(void **state)
{
	(void)state;
	NEED_ROOT();
	client_sent(OBSBPF_M_GET, 10, bpfut_now_ns(), OBSBPF_TO_NONE);
	client_sent(OBSBPF_M_HEAD, 11, bpfut_now_ns(), OBSBPF_TO_NONE);
	client_sent(OBSBPF_M_DELETE, 12, bpfut_now_ns(), OBSBPF_TO_NONE);
	to_client(0,
		  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		  "HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n"
		  "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(client_conn().head, 3);
	struct obsbpf_hist_val v;
	assert_int_equal(client_series(OBSBPF_M_GET, 10, 200, &v), 0);
	assert_int_equal(client_series(OBSBPF_M_HEAD, 11, 200, &v), 0);
	assert_int_equal(client_series(OBSBPF_M_DELETE, 12, 204, &v), 0);
	assert_int_equal(bpfut_hist_series(&fx), 3);
	assert_int_equal(bpfut_events(&fx), 3);
}

/* After 101 Switching Protocols the connection is no longer HTTP/1: counted, not parsed. */
static void test_upgrade(void **state)
{
	(void)state;
	NEED_ROOT();
	client_sent(OBSBPF_M_GET, 20, bpfut_now_ns(), OBSBPF_TO_NONE);
	const char *up = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
	to_client(0, up);
	struct obsbpf_conn c = client_conn();
	assert_int_equal(c.proto, OBSBPF_PROTO_OTHER);
	assert_int_equal(c.head, 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_CONN_UPGRADED), 1);
	struct obsbpf_hist_val v;
	assert_int_equal(client_series(OBSBPF_M_GET, 20, 101, &v), 0); /* the exchange itself is timed */
	/* Even with a request waiting (sk_msg would not have queued it): tc leaves the stream alone. */
	client_sent(OBSBPF_M_GET, 21, bpfut_now_ns(), OBSBPF_TO_NONE);
	to_client((uint32_t)strlen(up), "HTTP/1.1 200 OK\r\n\r\n");
	assert_int_equal(client_conn().head, 1);
	assert_int_equal(bpfut_hist_series(&fx), 1);
}

/* Exemplar mode (events_cfg.every 0): only traced exchanges get an event; all are counted. */
static void test_events_sampled(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_events(&fx, 0, 1000000000ull), 0);
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	client_sent(OBSBPF_M_GET, 1, bpfut_now_ns(), OBSBPF_TO_NONE);
	to_client(0, ok);
	assert_int_equal(bpfut_events(&fx), 0);
	client_sent(OBSBPF_M_GET, 1, bpfut_now_ns(), OBSBPF_TO_NEW);
	to_client((uint32_t)strlen(ok), ok);
	assert_int_equal(bpfut_events(&fx), 1);
	assert_int_equal(fx.ev[0].trace.origin, OBSBPF_TO_NEW);
	struct obsbpf_hist_val v;
	assert_int_equal(client_series(OBSBPF_M_GET, 1, 200, &v), 0);
	assert_int_equal(v.count, 2);
}

/* Spans mode (OBSBPF_EVENTS_SAMPLED): an event for each exchange of a sampled trace; an unsampled
 * one is counted in the kernel instead, one without context neither; all are in the histogram. */
static void test_events_sampled_traces(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_events(&fx, OBSBPF_EVENTS_SAMPLED, 1000000000ull), 0);
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	uint32_t seq = 0;
	client_sent(OBSBPF_M_GET, 1, bpfut_now_ns(), OBSBPF_TO_NEW); /* flags 0: not sampled */
	to_client(seq, ok);
	seq += (uint32_t)strlen(ok);
	assert_int_equal(bpfut_events(&fx), 0);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_EVENTS_UNSAMPLED), 1);
	client_sent(OBSBPF_M_GET, 1, bpfut_now_ns(), OBSBPF_TO_NEW);
	struct obsbpf_conn c = client_conn();
	c.q[(c.tail - 1) & (OBSBPF_PENDING - 1)].trace.flags = OBSBPF_TRACE_SAMPLED;
	assert_int_equal(bpfut_conn_set(&fx, pr.client, &c), 0);
	to_client(seq, ok);
	seq += (uint32_t)strlen(ok);
	assert_int_equal(bpfut_events(&fx), 1);
	assert_int_equal(fx.ev[0].trace.flags, OBSBPF_TRACE_SAMPLED);
	client_sent(OBSBPF_M_GET, 1, bpfut_now_ns(), OBSBPF_TO_NONE);
	to_client(seq, ok);
	assert_int_equal(bpfut_events(&fx), 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_EVENTS_UNSAMPLED), 1);
	struct obsbpf_hist_val v;
	assert_int_equal(client_series(OBSBPF_M_GET, 1, 200, &v), 0);
	assert_int_equal(v.count, 3);
}

/* A response seen twice answers one request, not two. */
static void test_retransmit_response(void **state)
{
	(void)state;
	NEED_ROOT();
	client_sent(OBSBPF_M_GET, 5, bpfut_now_ns(), OBSBPF_TO_NONE);
	client_sent(OBSBPF_M_GET, 6, bpfut_now_ns(), OBSBPF_TO_NONE);
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	to_client(0, ok);
	to_client(0, ok);
	assert_int_equal(client_conn().head, 1);
	assert_int_equal(bpfut_stat(&fx, OBSBPF_ST_RETRANSMIT), 1);
	assert_int_equal(bpfut_hist_series(&fx), 1);
	assert_int_equal(bpfut_events(&fx), 1);
	assert_int_equal(fx.ev[0].route_id, 5);
}

/* tc egress finds its connection through skb->sk; BPF_PROG_RUN's is the kernel's dummy socket,
 * without conn_state, so a response leaving a server connection with a request waiting is
 * passed and nothing is recorded. What egress does with a real socket is for the integration
 * tests. */
static void test_egress_dummy_socket(void **state)
{
	(void)state;
	NEED_ROOT();
	to_server(0, "GET /e HTTP/1.1\r\n\r\n");
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	uint8_t f[256];
	size_t n = bpfut_frame(f, sizeof(f), IPPROTO_TCP, &pr.saddr, &pr.caddr, pr.s2c_seq, 0, resp,
			       strlen(resp));
	assert_int_equal(bpfut_run(fx.skel->progs.obsbpf_tc_egress, f, n), 0);
	struct obsbpf_conn c = server_conn();
	assert_int_equal(c.head, 0);
	assert_int_equal(c.tail, 1);
	assert_int_equal(c.tx_seq_valid, 0);
	assert_int_equal(bpfut_hist_series(&fx), 0);
	assert_int_equal(bpfut_events(&fx), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_response_status_line, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_response_unmatched, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_response_interim_then_final, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_responses_pipelined, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_upgrade, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_events_sampled, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_events_sampled_traces, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_response, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_egress_dummy_socket, case_setup, case_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
