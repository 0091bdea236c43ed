// SPDX-License-Identifier: GPL-2.0
/* The TLS plaintext decoder (user/tls/) on the events bpf/tls.bpf.c sends: one per SSL_read or
 * SSL_write call, with the bytes the call moved (the first cap of them). Checks the exchanges
 * that come out of HTTP/1.x (pipelining, HEAD, bodies beyond the capture, a close-delimited
 * response, CONNECT, a head beyond the capture) and of HTTP/2 over TLS (the frames go into the
 * real HTTP/2 decoder, HPACK made by nghttp2), and what is left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2/h2.h"
#include "tls/tls.h"

#define MAX_X 32
#define SSL_A 0x5000
#define TGID  4242u

static struct h2_exchange got[MAX_X];
static int ngot;
static uint64_t forgotten_cookie;
static int nforgot;
static bool untied;	    /* the next calls' events say no socket (none was tied yet) */
static uint64_t call_began; /* the next calls began then (0: half a millisecond before they return) */

static void on_x(void *arg, const struct h2_exchange *x)
{
	(void)arg;
	if (ngot < MAX_X)
		got[ngot++] = *x;
}

static void on_forget(void *arg, uint32_t tgid, uint64_t ssl, uint64_t cookie)
{
	(void)arg;
	(void)tgid;
	(void)ssl;
	forgotten_cookie = cookie;
	nforgot++;
}

struct fix {
	struct h2_tracker *h2;
	struct tls_tracker *t;
	uint64_t now;
};

static int setup(void **state)
{
	static struct fix f;
	memset(&f, 0, sizeof(f));
	struct h2_limits l = H2_DEFAULT_LIMITS;
	f.h2 = h2_tracker_new(&l, on_x, NULL);
	f.t = tls_tracker_new(16, on_x, NULL, f.h2);
	assert_non_null(f.h2);
	assert_non_null(f.t);
	tls_tracker_on_forget(f.t, on_forget, NULL);
	f.now = 1000000000ull;
	ngot = 0;
	nforgot = 0;
	untied = false;
	call_began = 0;
	forgotten_cookie = 0;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	tls_tracker_free(f->t);
	h2_tracker_free(f->h2);
	return 0;
}

/* One SSL call on connection ssl: moved len bytes, of which the first cap are p. */
static void call_cap(struct fix *f, uint64_t ssl, uint8_t op, const void *p, size_t cap, size_t len)
{
	static struct obsbpf_tls_event e;
	memset(&e, 0, OBSBPF_TLS_EVENT_HDR);
	f->now += 1000000;
	e.call_ns = call_began ? call_began : f->now - 500000;
	e.ts_ns = f->now;
	e.pid_tgid = (uint64_t)TGID << 32 | 7;
	e.ssl = ssl;
	e.pod_id = 3;
	e.len = (uint32_t)len;
	e.cap = (uint16_t)cap;
	e.op = op;
	e.tied = !untied;
	e.sock.cookie = untied ? 0 : 77;
	e.sock.dir = 0;
	e.sock.addrs.family = 2;
	e.sock.addrs.local_port = 443;
	e.sock.addrs.remote_port = 50000;
	memcpy(e.data, p, cap);
	tls_tracker_event(f->t, &e, OBSBPF_TLS_EVENT_HDR + cap);
}

static void call(struct fix *f, uint8_t op, const char *s)
{
	call_cap(f, SSL_A, op, s, strlen(s), strlen(s));
}

/* The socket closed, for reason (enum obsbpf_no_response; 0: not said), 5 ms after the last call. */
static void close_why(struct fix *f, uint64_t cookie, uint32_t reason)
{
	struct obsbpf_tls_event e;
	memset(&e, 0, OBSBPF_TLS_EVENT_HDR);
	f->now += 5000000;
	e.ts_ns = f->now;
	e.op = OBSBPF_TLS_CLOSE;
	e.reason = reason;
	e.sock.cookie = cookie;
	tls_tracker_event(f->t, &e, OBSBPF_TLS_EVENT_HDR);
}

static void close_sock(struct fix *f, uint64_t cookie)
{
	close_why(f, cookie, 0);
}

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void test_server_http1(void **state)
{
	struct fix *f = *state;
	call(f, OBSBPF_TLS_READ, "GET /a?x=1 HTTP/1.1\r\nHost: shop.example\r\ntraceparent: " TP "\r\n\r\n");
	assert_int_equal(ngot, 0);
	call(f, OBSBPF_TLS_WRITE, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
	assert_int_equal(ngot, 1);
	const struct h2_exchange *x = &got[0];
	assert_true(x->tls);
	assert_int_equal(x->version, 1);
	assert_int_equal(x->minor, 1);
	assert_int_equal(x->dir, OBSBPF_DIR_SERVER);
	assert_int_equal(x->status, 200);
	assert_string_equal(x->method, "GET");
	assert_string_equal(x->path, "/a?x=1");
	assert_string_equal(x->authority, "shop.example");
	assert_true(x->has_traceparent);
	assert_int_equal(x->parent.trace_id[0], 0x4b);
	assert_true(x->has_addrs);
	assert_int_equal(x->addrs.local_port, 443);
	assert_true(x->end_ns >= x->start_ns);
	assert_int_equal(tls_tracker_stats(f->t)->http1, 1);
}

/* Two requests in one read, their responses in one write and then cut across calls. */
static void test_pipelined(void **state)
{
	struct fix *f = *state;
	call(f, OBSBPF_TLS_READ,
	     "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
	call(f, OBSBPF_TLS_WRITE, "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Le");
	assert_int_equal(ngot, 1);
	call(f, OBSBPF_TLS_WRITE, "ngth: 2\r\n\r\nno");
	assert_int_equal(ngot, 2);
	assert_string_equal(got[0].path, "/1");
	assert_int_equal(got[0].status, 204);
	assert_string_equal(got[1].method, "POST");
	assert_int_equal(got[1].minor, 0);
	assert_int_equal(got[1].status, 404);
}

/* A body larger than the bytes handed on (len > cap): parsing goes on at the next request. */
static void test_body_beyond_capture(void **state)
{
	struct fix *f = *state;
	call(f, OBSBPF_TLS_READ, "GET /big HTTP/1.1\r\n\r\n");
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
	char buf[256];
	snprintf(buf, sizeof(buf), "%sxxxx", head);
	call_cap(f, SSL_A, OBSBPF_TLS_WRITE, buf, strlen(buf), 16384);
	call_cap(f, SSL_A, OBSBPF_TLS_WRITE, "yyyy", 4, 16384 * 5);
	assert_int_equal(ngot, 0);
	size_t rest = 100000 + strlen(head) - 16384 * 6;
	call_cap(f, SSL_A, OBSBPF_TLS_WRITE, "zz", 2, rest);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].status, 200);
	call(f, OBSBPF_TLS_READ, "GET /next HTTP/1.1\r\n\r\n");
	call(f, OBSBPF_TLS_WRITE, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(ngot, 2);
	assert_string_equal(got[1].path, "/next");
	assert_int_equal(got[1].status, 500);
	assert_int_equal(tls_tracker_stats(f->t)->dropped[TLS_DROP_HTTP1], 0);
}

/* HEAD's response has no body whatever its Content-Length says. */
static void test_head(void **state)
{
	struct fix *f = *state;
	call(f, OBSBPF_TLS_READ, "HEAD /h HTTP/1.1\r\n\r\n");
	call(f, OBSBPF_TLS_WRITE, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
	assert_int_equal(ngot, 1);
	call(f, OBSBPF_TLS_READ, "GET /g HTTP/1.1\r\n\r\n");
	call(f, OBSBPF_TLS_WRITE, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(ngot, 2);
	assert_int_equal(got[1].status, 201);
}

/* The pod as the client: it writes the request, reads a response that ends at the close. */
static void test_client_close_delimited(void **state)
{
	struct fix *f = *state;
	call(f, OBSBPF_TLS_WRITE, "GET /c HTTP/1.0\r\nHost: up\r\n\r\n");
	call(f, OBSBPF_TLS_READ, "HTTP/1.0 200 OK\r\n\r\nbody until the end");
	assert_int_equal(ngot, 0);
	close_sock(f, 77);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].dir, OBSBPF_DIR_CLIENT);
	assert_int_equal(got[0].status, 200);
	assert_int_equal(nforgot, 1);
	assert_int_equal(forgotten_cookie, 77);
	assert_int_equal(tls_tracker_stats(f->t)->conns, 0);
}

/* The socket closes with requests unanswered: those whose response never began end at the
 * close with its reason as status, after the answered one (counted once); the one whose response
 * was cut short is not measured; a close with nothing pending adds nothing. */
static void test_http1_close_unanswered(void **state)
{
	struct fix *f = *state;
	call(f, OBSBPF_TLS_WRITE, "GET /a HTTP/1.1\r\nHost: up\r\n\r\n");
	call(f, OBSBPF_TLS_READ, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	call(f, OBSBPF_TLS_WRITE, "GET /b HTTP/1.1\r\nHost: up\r\n\r\nGET /c HTTP/1.1\r\nHost: up\r\n\r\n");
	uint64_t start_b = f->now - 500000; /* a request the pod sends starts at the call */
	assert_int_equal(ngot, 1);
	close_why(f, 77, OBSBPF_STATUS_TIMEOUT);
	assert_int_equal(ngot, 3);
	assert_int_equal(got[0].status, 200);
	assert_string_equal(got[1].path, "/b");
	assert_string_equal(got[2].path, "/c");
	for (int i = 1; i < 3; i++) {
		assert_int_equal(got[i].status, OBSBPF_STATUS_TIMEOUT);
		assert_int_equal(got[i].dir, OBSBPF_DIR_CLIENT);
		assert_int_equal(got[i].end_ns, f->now);
		assert_true(got[i].tls);
	}
	assert_int_equal(got[1].start_ns, start_b);
	assert_int_equal(tls_tracker_stats(f->t)->conns, 0);

	/* As server: a response cut short, then a request never answered. */
	const char *reqs = "GET /d HTTP/1.1\r\n\r\nGET /e HTTP/1.1\r\n\r\n";
	const char *cut = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab";
	call_cap(f, SSL_A + 1, OBSBPF_TLS_READ, reqs, strlen(reqs), strlen(reqs));
	call_cap(f, SSL_A + 1, OBSBPF_TLS_WRITE, cut, strlen(cut), strlen(cut));
	close_why(f, 77, OBSBPF_STATUS_CONN_CLOSED);
	assert_int_equal(ngot, 4);
	assert_string_equal(got[3].path, "/e");
	assert_int_equal(got[3].dir, OBSBPF_DIR_SERVER);
	assert_int_equal(got[3].status, OBSBPF_STATUS_CONN_CLOSED);

	/* Everything answered, or no reason (forgotten): nothing more. */
	call(f, OBSBPF_TLS_READ, "GET /f HTTP/1.1\r\n\r\n");
	call(f, OBSBPF_TLS_WRITE, "HTTP/1.1 204 No Content\r\n\r\n");
	close_why(f, 77, OBSBPF_STATUS_CONN_RESET);
	call(f, OBSBPF_TLS_READ, "GET /g HTTP/1.1\r\n\r\n");
	close_sock(f, 77);
	assert_int_equal(ngot, 5);
	assert_int_equal(got[4].status, 204);
	assert_int_equal(tls_tracker_stats(f->t)->conns, 0);
}

/* Calls that began before their socket closed and returned after it (the peer answered what
 * was sent with a reset before the return probe ran): their requests end with that close. */
static void test_call_returns_after_close(void **state)
{
	struct fix *f = *state;
	close_why(f, 77, OBSBPF_STATUS_CONN_RESET);
	uint64_t closed = f->now;
	call_began = closed - 100;
	call(f, OBSBPF_TLS_WRITE, "GET /late HTTP/1.1\r\nHost: up\r\n\r\n");
	assert_int_equal(ngot, 1);
	assert_string_equal(got[0].path, "/late");
	assert_int_equal(got[0].dir, OBSBPF_DIR_CLIENT);
	assert_int_equal(got[0].status, OBSBPF_STATUS_CONN_RESET);
	assert_int_equal(got[0].start_ns, closed - 100);
	assert_int_equal(got[0].end_ns, closed);
	assert_int_equal(tls_tracker_stats(f->t)->conns, 0);
	assert_int_equal(tls_tracker_stats(f->t)->late, 1);

	/* A server's read that returns after the close: the request counts from the return, so it
	 * ends there, not before it began. */
	call_began = closed - 50;
	call_cap(f, SSL_A + 1, OBSBPF_TLS_READ, "GET /gone HTTP/1.1\r\n\r\n", 22, 22);
	assert_int_equal(ngot, 2);
	assert_int_equal(got[1].dir, OBSBPF_DIR_SERVER);
	assert_int_equal(got[1].status, OBSBPF_STATUS_CONN_RESET);
	assert_int_equal(got[1].end_ns, got[1].start_ns);

	/* A call made after the close belongs to another socket (this fixture reuses the cookie). */
	call_began = 0;
	call(f, OBSBPF_TLS_READ, "GET /next HTTP/1.1\r\n\r\n");
	assert_int_equal(ngot, 2);
	assert_int_equal(tls_tracker_stats(f->t)->conns, 1);
	assert_int_equal(tls_tracker_stats(f->t)->late, 2);
}

/* A client that only sent: none of its calls was tied to a socket. The close event names the SSL *
 * a read at the close tied (a reset), with the socket's addresses: the request ends there. */
static void test_close_names_untied(void **state)
{
	struct fix *f = *state;
	untied = true;
	call(f, OBSBPF_TLS_WRITE, "GET /r HTTP/1.1\r\nHost: up\r\n\r\n");
	close_why(f, 77, OBSBPF_STATUS_CONN_RESET); /* an earlier close naming no SSL * */
	assert_int_equal(ngot, 0);
	assert_int_equal(tls_tracker_stats(f->t)->conns, 1);
	struct obsbpf_tls_event e;
	memset(&e, 0, OBSBPF_TLS_EVENT_HDR);
	e.ts_ns = f->now + 7;
	e.op = OBSBPF_TLS_CLOSE;
	e.reason = OBSBPF_STATUS_CONN_RESET;
	e.ssl = SSL_A;
	e.pid_tgid = (uint64_t)TGID << 32;
	e.sock.cookie = 78;
	e.sock.addrs.family = 2;
	e.sock.addrs.remote_port = 8443;
	e.sock.dir = OBSBPF_DIR_CLIENT;
	tls_tracker_event(f->t, &e, OBSBPF_TLS_EVENT_HDR);
	assert_int_equal(ngot, 1);
	assert_string_equal(got[0].path, "/r");
	assert_int_equal(got[0].status, OBSBPF_STATUS_CONN_RESET);
	assert_int_equal(got[0].end_ns, f->now + 7);
	assert_true(got[0].has_addrs);
	assert_int_equal(got[0].addrs.remote_port, 8443);
	assert_int_equal(tls_tracker_stats(f->t)->conns, 0);
	assert_int_equal(forgotten_cookie, 78);
}

/* After CONNECT's 200 the bytes are the tunnel's: nothing in them is parsed. */
static void test_connect_tunnel(void **state)
{
	struct fix *f = *state;
	call(f, OBSBPF_TLS_WRITE, "CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n");
	call(f, OBSBPF_TLS_READ, "HTTP/1.1 200 Connection established\r\n\r\n");
	assert_int_equal(ngot, 1);
	call(f, OBSBPF_TLS_WRITE, "GET /inside HTTP/1.1\r\n\r\n");
	call(f, OBSBPF_TLS_READ, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(ngot, 1);
}

/* A 101 ends HTTP/1 on the connection (WebSocket). */
static void test_upgrade(void **state)
{
	struct fix *f = *state;
	call(f, OBSBPF_TLS_READ, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
	call(f, OBSBPF_TLS_WRITE, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].status, 101);
	call(f, OBSBPF_TLS_READ, "GET / HTTP/1.1\r\n\r\n");
	call(f, OBSBPF_TLS_WRITE, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(ngot, 1);
}

/* Not HTTP: counted, never parsed. */
static void test_other(void **state)
{
	struct fix *f = *state;
	call(f, OBSBPF_TLS_WRITE, "\x00\x00\x00\x08\x04\xd2\x16\x2f");
	call(f, OBSBPF_TLS_READ, "HTTP/1.1 200 OK\r\n\r\n");
	assert_int_equal(ngot, 0);
	assert_int_equal(tls_tracker_stats(f->t)->other, 1);
}

/* A head beyond the capture: the message is lost (counted), the next one is parsed. */
static void test_head_beyond_capture(void **state)
{
	struct fix *f = *state;
	call_cap(f, SSL_A, OBSBPF_TLS_READ, "GET /long HTTP/1.1\r\nX-Big: aaaa", 31, 20000);
	call(f, OBSBPF_TLS_WRITE, "HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\n");
	call(f, OBSBPF_TLS_READ, "GET /after HTTP/1.1\r\n\r\n");
	call(f, OBSBPF_TLS_WRITE, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_true(tls_tracker_stats(f->t)->dropped[TLS_DROP_HTTP1] >= 1);
	assert_true(ngot >= 1);
	assert_string_equal(got[ngot - 1].path, "/after");
	assert_int_equal(got[ngot - 1].status, 200);
}

/* The same SSL * in two processes: two connections. */
static void test_two_connections(void **state)
{
	struct fix *f = *state;
	call_cap(f, SSL_A, OBSBPF_TLS_READ, "GET /x HTTP/1.1\r\n\r\n", 19, 19);
	call_cap(f, SSL_A + 8, OBSBPF_TLS_READ, "GET /y HTTP/1.1\r\n\r\n", 19, 19);
	const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	call_cap(f, SSL_A + 8, OBSBPF_TLS_WRITE, r, strlen(r), strlen(r));
	assert_int_equal(ngot, 1);
	assert_string_equal(got[0].path, "/y");
	assert_int_equal(tls_tracker_stats(f->t)->conns, 2);
	tls_tracker_forget_pod(f->t, 3);
	assert_int_equal(tls_tracker_stats(f->t)->conns, 0);
}

/* HTTP/2 frames as the app writes them: header, payload. */
static size_t h2_frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream, const uint8_t *p, size_t n)
{
	out[0] = (uint8_t)(n >> 16);
	out[1] = (uint8_t)(n >> 8);
	out[2] = (uint8_t)n;
	out[3] = type;
	out[4] = flags;
	out[5] = (uint8_t)(stream >> 24);
	out[6] = (uint8_t)(stream >> 16);
	out[7] = (uint8_t)(stream >> 8);
	out[8] = (uint8_t)stream;
	if (n)
		memcpy(out + 9, p, n);
	return 9 + n;
}

/* The client's first bytes: its preface and an empty SETTINGS frame. */
static size_t h2_client_start(uint8_t *out)
{
	size_t n = strlen(OBSBPF_H2_PREFACE);
	memcpy(out, OBSBPF_H2_PREFACE, n);
	return n + h2_frame(out + n, 4, 0, 0, NULL, 0);
}

static size_t h2_headers(nghttp2_hd_deflater *d, uint8_t *out, uint32_t stream, uint8_t flags,
			 const nghttp2_nv *nv, size_t nnv)
{
	uint8_t block[512];
	ssize_t n = nghttp2_hd_deflate_hd(d, block, sizeof(block), nv, nnv);
	assert_true(n > 0);
	return h2_frame(out, 1, flags | 0x4, stream, block, (size_t)n);
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE \
	}

/* The pod as an HTTP/2 client over TLS: two streams, one gRPC with its trailers. */
static void test_h2_client(void **state)
{
	struct fix *f = *state;
	nghttp2_hd_deflater *cd, *sd;
	assert_int_equal(nghttp2_hd_deflate_new(&cd, 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&sd, 4096), 0);
	static uint8_t b[4096];
	size_t n = h2_client_start(b);
	nghttp2_nv req1[] = { NV(":method", "GET"), NV(":scheme", "https"), NV(":path", "/one"),
			      NV(":authority", "api.example"), NV("traceparent", TP) };
	n += h2_headers(cd, b + n, 1, 0x1, req1, 5);
	call_cap(f, SSL_A, OBSBPF_TLS_WRITE, b, n, n);
	nghttp2_nv req3[] = { NV(":method", "POST"), NV(":scheme", "https"), NV(":path", "/pkg.Svc/Do"),
			      NV(":authority", "api.example"), NV("content-type", "application/grpc") };
	n = h2_headers(cd, b, 3, 0, req3, 5);
	n += h2_frame(b + n, 0, 0x1, 3, (const uint8_t *)"\0\0\0\0\0", 5);
	call_cap(f, SSL_A, OBSBPF_TLS_WRITE, b, n, n);

	n = h2_frame(b, 4, 0, 0, NULL, 0);
	n += h2_frame(b + n, 4, 0x1, 0, NULL, 0); /* SETTINGS ACK */
	nghttp2_nv resp1[] = { NV(":status", "200") };
	n += h2_headers(sd, b + n, 1, 0, resp1, 1);
	n += h2_frame(b + n, 0, 0x1, 1, (const uint8_t *)"ok", 2);
	call_cap(f, SSL_A, OBSBPF_TLS_READ, b, n, n);
	assert_int_equal(ngot, 1);
	nghttp2_nv resp3[] = { NV(":status", "200"), NV("content-type", "application/grpc") };
	n = h2_headers(sd, b, 3, 0, resp3, 2);
	nghttp2_nv trailers[] = { NV("grpc-status", "5"), NV("grpc-message", "not found") };
	n += h2_headers(sd, b + n, 3, 0x1, trailers, 2);
	call_cap(f, SSL_A, OBSBPF_TLS_READ, b, n, n);
	assert_int_equal(ngot, 2);

	assert_true(got[0].tls);
	assert_int_equal(got[0].version, 2);
	assert_int_equal(got[0].dir, OBSBPF_DIR_CLIENT);
	assert_string_equal(got[0].path, "/one");
	assert_string_equal(got[0].authority, "api.example");
	assert_int_equal(got[0].status, 200);
	assert_true(got[0].has_traceparent);
	assert_true(got[1].grpc);
	assert_true(got[1].tls);
	assert_int_equal(got[1].grpc_status, 5);
	assert_string_equal(got[1].grpc_message, "not found");
	assert_int_equal(tls_tracker_stats(f->t)->h2, 1);
	nghttp2_hd_deflate_del(cd);
	nghttp2_hd_deflate_del(sd);
}

/* HTTP/2 over TLS closed with a plain request open: it ends at the close with the reason, as
 * on cleartext; the answered one is not counted again. */
static void test_h2_close_unanswered(void **state)
{
	struct fix *f = *state;
	nghttp2_hd_deflater *cd, *sd;
	assert_int_equal(nghttp2_hd_deflate_new(&cd, 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&sd, 4096), 0);
	static uint8_t b[4096];
	size_t n = h2_client_start(b);
	nghttp2_nv req1[] = { NV(":method", "GET"), NV(":scheme", "https"), NV(":path", "/one"),
			      NV(":authority", "api.example") };
	n += h2_headers(cd, b + n, 1, 0x1, req1, 4);
	nghttp2_nv req3[] = { NV(":method", "GET"), NV(":scheme", "https"), NV(":path", "/two"),
			      NV(":authority", "api.example") };
	n += h2_headers(cd, b + n, 3, 0x1, req3, 4);
	call_cap(f, SSL_A, OBSBPF_TLS_READ, b, n, n);
	n = h2_frame(b, 4, 0, 0, NULL, 0);
	nghttp2_nv resp1[] = { NV(":status", "200") };
	n += h2_headers(sd, b + n, 1, 0x1, resp1, 1);
	call_cap(f, SSL_A, OBSBPF_TLS_WRITE, b, n, n);
	assert_int_equal(ngot, 1);
	close_why(f, 77, OBSBPF_STATUS_CONN_CLOSED);
	assert_int_equal(ngot, 2);
	assert_string_equal(got[1].path, "/two");
	assert_int_equal(got[1].version, 2);
	assert_int_equal(got[1].dir, OBSBPF_DIR_SERVER);
	assert_true(got[1].tls);
	assert_int_equal(got[1].status, OBSBPF_STATUS_CONN_CLOSED);
	assert_int_equal(got[1].end_ns, f->now);
	assert_int_equal(h2_tracker_stats(f->h2)->conns, 0);
	assert_int_equal(h2_tracker_stats(f->h2)->streams_unfinished, 0);
	nghttp2_hd_deflate_del(cd);
	nghttp2_hd_deflate_del(sd);
}

/* HTTP/2 as a server, a frame's header cut across two reads and a DATA payload beyond the
 * capture: the frame layout is followed by lengths, the exchange ends. */
static void test_h2_server_split(void **state)
{
	struct fix *f = *state;
	nghttp2_hd_deflater *cd, *sd;
	assert_int_equal(nghttp2_hd_deflate_new(&cd, 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&sd, 4096), 0);
	static uint8_t b[4096];
	size_t n = h2_client_start(b);
	nghttp2_nv req[] = { NV(":method", "PUT"), NV(":scheme", "https"), NV(":path", "/up"),
			     NV(":authority", "s") };
	n += h2_headers(cd, b + n, 1, 0, req, 4);
	call_cap(f, SSL_A, OBSBPF_TLS_READ, b, n - 3, n - 3);
	call_cap(f, SSL_A, OBSBPF_TLS_READ, b + n - 3, 3, 3);
	/* DATA of 50000 bytes, END_STREAM: read in calls of 16384 of which 100 are captured. */
	uint8_t hdr[9];
	h2_frame(hdr, 0, 0x1, 1, NULL, 0);
	hdr[0] = 0;
	hdr[1] = (uint8_t)(50000 >> 8);
	hdr[2] = (uint8_t)(50000 & 0xff);
	memset(b, 'd', 200);
	memcpy(b, hdr, 9);
	call_cap(f, SSL_A, OBSBPF_TLS_READ, b, 100, 16384);
	call_cap(f, SSL_A, OBSBPF_TLS_READ, b + 9, 100, 16384);
	call_cap(f, SSL_A, OBSBPF_TLS_READ, b + 9, 100, 16384);
	call_cap(f, SSL_A, OBSBPF_TLS_READ, b + 9, 100, 50009 - 3 * 16384);
	nghttp2_nv resp[] = { NV(":status", "201") };
	n = h2_headers(sd, b, 1, 0x1, resp, 1);
	call_cap(f, SSL_A, OBSBPF_TLS_WRITE, b, n, n);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].dir, OBSBPF_DIR_SERVER);
	assert_string_equal(got[0].method, "PUT");
	assert_int_equal(got[0].status, 201);
	assert_int_equal(tls_tracker_stats(f->t)->dropped[TLS_DROP_H2], 0);
	nghttp2_hd_deflate_del(cd);
	nghttp2_hd_deflate_del(sd);
}

/* The server's SETTINGS before the client's preface (nginx and nghttpd write it right after the
 * handshake): an HTTP/2 connection where the pod is the server. */
static void test_h2_server_settings_first(void **state)
{
	struct fix *f = *state;
	nghttp2_hd_deflater *cd, *sd;
	assert_int_equal(nghttp2_hd_deflate_new(&cd, 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&sd, 4096), 0);
	static uint8_t b[4096];
	const uint8_t settings[] = { 0, 3, 0, 0, 0, 100 };
	size_t n = h2_frame(b, 4, 0, 0, settings, sizeof(settings));
	call_cap(f, SSL_A, OBSBPF_TLS_WRITE, b, n, n);
	n = h2_client_start(b);
	nghttp2_nv req[] = { NV(":method", "GET"), NV(":scheme", "https"), NV(":path", "/s"),
			     NV(":authority", "s") };
	n += h2_headers(cd, b + n, 1, 0x1, req, 4);
	call_cap(f, SSL_A, OBSBPF_TLS_READ, b, n, n);
	nghttp2_nv resp[] = { NV(":status", "200") };
	n = h2_frame(b, 4, 0x1, 0, NULL, 0);
	n += h2_headers(sd, b + n, 1, 0x1, resp, 1);
	call_cap(f, SSL_A, OBSBPF_TLS_WRITE, b, n, n);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].dir, OBSBPF_DIR_SERVER);
	assert_int_equal(got[0].version, 2);
	assert_string_equal(got[0].path, "/s");
	assert_int_equal(tls_tracker_stats(f->t)->h2, 1);
	assert_int_equal(tls_tracker_stats(f->t)->other, 0);
	nghttp2_hd_deflate_del(cd);
	nghttp2_hd_deflate_del(sd);
}

/* Bytes that do not add up (a truncated event, a cap above len) are refused, not read. */
static void test_bad_events(void **state)
{
	struct fix *f = *state;
	static struct obsbpf_tls_event e;
	memset(&e, 0, sizeof(e));
	e.op = OBSBPF_TLS_READ;
	e.cap = 100;
	e.len = 50;
	tls_tracker_event(f->t, &e, OBSBPF_TLS_EVENT_HDR + 100);
	e.len = 100;
	tls_tracker_event(f->t, &e, OBSBPF_TLS_EVENT_HDR + 10);
	tls_tracker_event(f->t, &e, 8);
	assert_int_equal(tls_tracker_stats(f->t)->events, 0);
	assert_int_equal(tls_tracker_stats(f->t)->conns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_server_http1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_beyond_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_close_delimited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http1_close_unanswered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_names_untied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_tunnel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_beyond_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_close_unanswered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_server_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_server_settings_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_returns_after_close, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
