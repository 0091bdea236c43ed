// SPDX-License-Identifier: GPL-2.0
/* The HTTP/2 decoder (user/h2/) on the events the kernel would send for real connections: the
 * header blocks are made by nghttp2's HPACK deflater (dynamic table, Huffman), cut into the
 * kernel's chunks, numbered and timed per direction as bpf/h2.bpf.c does. Checks the exchanges
 * that come out and the connections that are given up, and why. */
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

#define MAX_X 64

static struct h2_exchange got[MAX_X];
static int ngot;

static void on_x(void *arg, const struct h2_exchange *x)
{
	(void)arg;
	if (ngot < MAX_X)
		got[ngot++] = *x;
}

/* One side of a fake connection: its deflater (the app's HPACK encoder), the TCP sequence and
 * the kernel's event numbers of the frames it sends. */
struct side {
	nghttp2_hd_deflater *def;
	uint32_t seq, n;
};

struct fake {
	struct h2_tracker *t;
	uint64_t cookie;
	uint8_t dir;
	struct side s[2]; /* [1] client, [0] server */
	uint64_t now;
	unsigned chunk; /* bytes per event (the kernel's is OBSBPF_H2_CHUNK) */
};

static void fake_init(struct fake *f, struct h2_tracker *t, uint64_t cookie, uint8_t dir)
{
	memset(f, 0, sizeof(*f));
	f->t = t;
	f->cookie = cookie;
	f->dir = dir;
	f->now = 1000000;
	f->chunk = OBSBPF_H2_CHUNK;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(nghttp2_hd_deflate_new(&f->s[i].def, 4096), 0);
		f->s[i].seq = 1000u * (unsigned)(i + 1);
	}
	struct obsbpf_h2_event e = { .kind = OBSBPF_H2_EV_OPEN, .conn = cookie, .pod_id = 3, .dir = dir };
	struct obsbpf_addrs a = { .family = 2, .local_port = 8080, .remote_port = 40000 };
	memcpy(e.data, &a, sizeof(a));
	e.len = sizeof(a);
	h2_tracker_event(t, &e, sizeof(e));
}

static void fake_free(struct fake *f)
{
	for (int i = 0; i < 2; i++)
		nghttp2_hd_deflate_del(f->s[i].def);
}

static void send_conn(struct fake *f, uint8_t kind)
{
	struct obsbpf_h2_event e = { .kind = kind, .conn = f->cookie, .pod_id = 3, .dir = f->dir };
	h2_tracker_event(f->t, &e, sizeof(e));
}

/* A frame from side fc as the kernel reports it: FRAME with the first chunk, MORE for the rest
 * (announce: whether the kernel hands this frame on at all, with payload or not). */
static void frame(struct fake *f, int fc, uint8_t type, uint8_t flags, uint32_t stream, const uint8_t *p,
		  uint32_t len)
{
	struct side *s = &f->s[fc];
	s->seq += 9; /* the frame header */
	bool payload = type != OBSBPF_H2_DATA;
	uint32_t off = 0;
	do {
		struct obsbpf_h2_event e = {
			.ts_ns = f->now++,
			.conn = f->cookie,
			.pod_id = 3,
			.seq = s->seq + off,
			.stream = stream,
			.frame_len = len,
			.n = ++s->n,
			.off = (uint16_t)off,
			.kind = off ? OBSBPF_H2_EV_MORE : OBSBPF_H2_EV_FRAME,
			.dir = f->dir,
			.from_client = (uint8_t)fc,
			.type = type,
			.flags = flags,
		};
		uint32_t n = payload ? len - off : 0;
		if (n > f->chunk)
			n = f->chunk;
		if (n)
			memcpy(e.data, p + off, n);
		e.len = (uint16_t)n;
		h2_tracker_event(f->t, &e, sizeof(e));
		off += n;
	} while (payload && off < len);
	s->seq += len;
}

/* Encodes fields with side fc's deflater. */
static size_t block(struct fake *f, int fc, const char *const *kv, size_t nkv, uint8_t *out, size_t cap)
{
	nghttp2_nv nv[16];
	for (size_t i = 0; i < nkv; i++)
		nv[i] = (nghttp2_nv){ (uint8_t *)kv[2 * i], (uint8_t *)kv[2 * i + 1], strlen(kv[2 * i]),
				      strlen(kv[2 * i + 1]), NGHTTP2_NV_FLAG_NONE };
	ssize_t n = nghttp2_hd_deflate_hd(f->s[fc].def, out, cap, nv, nkv);
	assert_true(n > 0);
	return (size_t)n;
}

static void headers(struct fake *f, int fc, uint8_t flags, uint32_t stream, const char *const *kv, size_t nkv)
{
	uint8_t b[8192];
	size_t n = block(f, fc, kv, nkv, b, sizeof(b));
	frame(f, fc, OBSBPF_H2_HEADERS, flags | OBSBPF_H2_F_END_HEADERS, stream, b, (uint32_t)n);
}

static const char *const req_get[] = { ":method", "GET",	   ":scheme",	 "http",
				       ":path",	  "/users/42?x=1", ":authority", "api:8080" };
static const char *const resp_200[] = { ":status", "200", "content-type", "text/plain" };

static int setup(void **state)
{
	*state = h2_tracker_new(NULL, on_x, NULL);
	ngot = 0;
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	h2_tracker_free(*state);
	return 0;
}

/* A GET answered with a body: one exchange, times from the request HEADERS to the DATA that
 * ends the response, fields decoded. */
static void test_get(void **state)
{
	struct fake f;
	fake_init(&f, *state, 77, OBSBPF_DIR_SERVER);
	headers(&f, 1, OBSBPF_H2_F_END_STREAM, 1, req_get, 4);
	uint64_t start = f.now - 1;
	headers(&f, 0, 0, 1, resp_200, 2);
	assert_int_equal(ngot, 0);
	frame(&f, 0, OBSBPF_H2_DATA, OBSBPF_H2_F_END_STREAM, 1, (const uint8_t *)"ok", 2);
	assert_int_equal(ngot, 1);
	struct h2_exchange *x = &got[0];
	assert_int_equal(x->start_ns, start);
	assert_int_equal(x->end_ns, f.now - 1);
	assert_string_equal(x->method, "GET");
	assert_string_equal(x->path, "/users/42?x=1");
	assert_string_equal(x->authority, "api:8080");
	assert_int_equal(x->status, 200);
	assert_false(x->grpc);
	assert_false(x->reset);
	assert_int_equal(x->pod_id, 3);
	assert_int_equal(x->dir, OBSBPF_DIR_SERVER);
	assert_true(x->has_addrs);
	assert_int_equal(x->addrs.local_port, 8080);
	assert_int_equal(h2_tracker_stats(*state)->conns, 1);
	send_conn(&f, OBSBPF_H2_EV_CLOSE);
	assert_int_equal(h2_tracker_stats(*state)->conns, 0);
	fake_free(&f);
}

/* Many requests on one connection, interleaved, the encoder indexing what repeats: every block
 * decodes against the table the earlier ones built, and each response lands on its stream. */
static void test_interleaved_dynamic_table(void **state)
{
	struct fake f;
	fake_init(&f, *state, 78, OBSBPF_DIR_CLIENT);
	char path[32][32];
	for (int i = 0; i < 32; i++) {
		snprintf(path[i], sizeof(path[i]), "/item/%d", i);
		const char *kv[] = { ":method",	   "POST",
				     ":scheme",	   "http",
				     ":path",	   path[i],
				     ":authority", "svc",
				     "x-big",	   "a-value-that-gets-indexed-and-reused-by-every-request" };
		headers(&f, 1, 0, (uint32_t)(2 * i + 1), kv, 5);
	}
	for (int i = 31; i >= 0; i--) {
		char code[8];
		snprintf(code, sizeof(code), "%d", 200 + i);
		const char *kv[] = { ":status", code, "server", "nghttpd" };
		headers(&f, 0, OBSBPF_H2_F_END_STREAM, (uint32_t)(2 * i + 1), kv, 2);
	}
	assert_int_equal(ngot, 32);
	for (int k = 0; k < 32; k++) {
		int i = 31 - k;
		assert_int_equal(got[k].stream, 2 * i + 1);
		assert_string_equal(got[k].path, path[i]);
		assert_int_equal(got[k].status, 200 + i);
		assert_string_equal(got[k].method, "POST");
	}
	fake_free(&f);
}

/* gRPC: the status is in the trailers; a call that fails over HTTP 200 is not OK. A
 * trailers-only response (one HEADERS with END_STREAM) carries it too. */
static void test_grpc_status(void **state)
{
	struct fake f;
	fake_init(&f, *state, 79, OBSBPF_DIR_SERVER);
	const char *req[] = { ":method",      "POST",
			      ":scheme",      "http",
			      ":path",	      "/shop.Cart/Add",
			      ":authority",   "cart:50051",
			      "content-type", "application/grpc",
			      "te",	      "trailers" };
	headers(&f, 1, 0, 1, req, 6);
	frame(&f, 1, OBSBPF_H2_DATA, OBSBPF_H2_F_END_STREAM, 1, NULL, 0);
	const char *resp[] = { ":status", "200", "content-type", "application/grpc" };
	headers(&f, 0, 0, 1, resp, 2);
	const char *trl[] = { "grpc-status", "14", "grpc-message", "backend down" };
	headers(&f, 0, OBSBPF_H2_F_END_STREAM, 1, trl, 2);
	headers(&f, 1, OBSBPF_H2_F_END_STREAM, 3, req, 6);
	const char *only[] = {
		":status", "200", "content-type", "application/grpc+proto", "grpc-status", "0"
	};
	headers(&f, 0, OBSBPF_H2_F_END_STREAM, 3, only, 3);
	assert_int_equal(ngot, 2);
	assert_true(got[0].grpc);
	assert_int_equal(got[0].status, 200);
	assert_int_equal(got[0].grpc_status, 14);
	assert_int_equal(h2_grpc_status(&got[0]), 14);
	assert_string_equal(h2_grpc_code_name(h2_grpc_status(&got[0])), "UNAVAILABLE");
	assert_string_equal(got[0].grpc_message, "backend down");
	assert_string_equal(got[0].path, "/shop.Cart/Add");
	assert_int_equal(got[1].grpc_status, 0);
	assert_string_equal(h2_grpc_code_name(0), "OK");
	fake_free(&f);
}

/* A reset stream ends the exchange: a cancelled gRPC call is CANCELLED, a refused one
 * UNAVAILABLE; a 503 without grpc-status maps to UNAVAILABLE too. */
static void test_reset_and_http_mapping(void **state)
{
	struct fake f;
	fake_init(&f, *state, 80, OBSBPF_DIR_CLIENT);
	const char *req[] = { ":method", "POST",       ":scheme", "http",	  ":path",
			      "/a.B/C",	 ":authority", "b",	  "content-type", "application/grpc" };
	headers(&f, 1, 0, 1, req, 5);
	uint8_t cancel[4] = { 0, 0, 0, 8 };
	frame(&f, 1, OBSBPF_H2_RST_STREAM, 0, 1, cancel, 4);
	headers(&f, 1, OBSBPF_H2_F_END_STREAM, 3, req, 5);
	const char *r503[] = { ":status", "503" };
	headers(&f, 0, OBSBPF_H2_F_END_STREAM, 3, r503, 1);
	assert_int_equal(ngot, 2);
	assert_true(got[0].reset);
	assert_int_equal(got[0].rst_code, 8);
	assert_int_equal(h2_grpc_status(&got[0]), 1);
	assert_int_equal(h2_grpc_status(&got[1]), 14);
	fake_free(&f);
}

/* CONTINUATION, padding, priority, a block cut into many chunks, a SETTINGS that grows the
 * table the other side may use, and PUSH_PROMISE blocks that only feed HPACK. */
static void test_continuation_padding_settings_push(void **state)
{
	struct fake f;
	fake_init(&f, *state, 81, OBSBPF_DIR_SERVER);
	f.chunk = 100;
	/* The client allows the server a 64 KiB table; the server then uses it. */
	uint8_t st[6] = { 0, 1, 0, 1, 0, 0 };
	frame(&f, 1, OBSBPF_H2_SETTINGS, 0, 0, st, 6);
	assert_int_equal(nghttp2_hd_deflate_change_table_size(f.s[0].def, 65536), 0);
	char big[3000];
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const char *req[] = { ":method", "GET",	       ":scheme", "http",  ":path",
			      "/cont",	 ":authority", "h",	  "x-big", big };
	uint8_t b[8192];
	size_t n = block(&f, 1, req, 5, b, sizeof(b));
	/* HEADERS (padded, with priority) + two CONTINUATIONs. */
	uint8_t h[4096];
	size_t cut1 = n / 3, cut2 = 2 * n / 3;
	h[0] = 7; /* pad length */
	memset(h + 1, 0, 5);
	memcpy(h + 6, b, cut1);
	memset(h + 6 + cut1, 0, 7);
	frame(&f, 1, OBSBPF_H2_HEADERS, OBSBPF_H2_F_PADDED | OBSBPF_H2_F_PRIORITY | OBSBPF_H2_F_END_STREAM, 1,
	      h, (uint32_t)(6 + cut1 + 7));
	frame(&f, 1, OBSBPF_H2_CONTINUATION, 0, 1, b + cut1, (uint32_t)(cut2 - cut1));
	frame(&f, 1, OBSBPF_H2_CONTINUATION, OBSBPF_H2_F_END_HEADERS, 1, b + cut2, (uint32_t)(n - cut2));
	/* The server pushes /style.css (a PUSH_PROMISE block), then answers with a header as big
	 * as only the grown table indexes. */
	const char *promised[] = { ":method", "GET",	    ":scheme",	  "http",
				   ":path",   "/style.css", ":authority", "h" };
	uint8_t pb[1024];
	size_t pn = block(&f, 0, promised, 4, pb + 4, sizeof(pb) - 4);
	pb[0] = pb[1] = pb[2] = 0;
	pb[3] = 2;
	frame(&f, 0, OBSBPF_H2_PUSH_PROMISE, OBSBPF_H2_F_END_HEADERS, 1, pb, (uint32_t)(pn + 4));
	const char *resp[] = { ":status", "200", "x-big-answer", big };
	headers(&f, 0, 0, 1, resp, 2);
	const char *resp2[] = { ":status", "204", "x-big-answer", big }; /* indexed now */
	headers(&f, 0, 0, 2, resp2, 2); /* the pushed stream's response: not a request */
	frame(&f, 0, OBSBPF_H2_DATA, OBSBPF_H2_F_END_STREAM, 2, NULL, 0);
	frame(&f, 0, OBSBPF_H2_DATA, OBSBPF_H2_F_END_STREAM, 1, NULL, 0);
	assert_int_equal(ngot, 1);
	assert_string_equal(got[0].path, "/cont");
	assert_int_equal(got[0].status, 200);
	assert_int_equal(h2_tracker_stats(*state)->conns, 1);
	for (int i = 0; i < H2_DROP_MAX; i++)
		assert_int_equal(h2_tracker_stats(*state)->dropped[i], 0);
	fake_free(&f);
}

/* A traceparent in the request is reported (valid ones only). */
static void test_traceparent(void **state)
{
	struct fake f;
	fake_init(&f, *state, 82, OBSBPF_DIR_SERVER);
	const char *req[] = { ":method",     "GET",
			      ":scheme",     "http",
			      ":path",	     "/t",
			      ":authority",  "h",
			      "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" };
	headers(&f, 1, OBSBPF_H2_F_END_STREAM, 1, req, 5);
	const char *bad[] = { ":method",     "GET",
			      ":scheme",     "http",
			      ":path",	     "/t",
			      ":authority",  "h",
			      "traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01" };
	headers(&f, 1, OBSBPF_H2_F_END_STREAM, 3, bad, 5);
	headers(&f, 0, OBSBPF_H2_F_END_STREAM, 1, resp_200, 2);
	headers(&f, 0, OBSBPF_H2_F_END_STREAM, 3, resp_200, 2);
	assert_int_equal(ngot, 2);
	assert_true(got[0].has_traceparent);
	assert_int_equal(got[0].parent.trace_id[0], 0x4b);
	assert_int_equal(got[0].parent.parent_id[7], 0xb7);
	assert_int_equal(got[0].parent.flags, 1);
	assert_false(got[1].has_traceparent);
	fake_free(&f);
}

/* Lost events (a number skipped), a header block nghttp2 rejects, a CONTINUATION out of place:
 * the connection is given up and counted, its later frames ignored, its open streams counted
 * unfinished; the kernel's own reasons are counted as it gives them. */
static void test_drops(void **state)
{
	struct h2_tracker *t = *state;
	struct fake f;
	fake_init(&f, t, 90, OBSBPF_DIR_SERVER);
	headers(&f, 1, 0, 1, req_get, 4);
	f.s[1].n++; /* an event the ring buffer had no room for */
	headers(&f, 1, OBSBPF_H2_F_END_STREAM, 3, req_get, 4);
	headers(&f, 0, OBSBPF_H2_F_END_STREAM, 1, resp_200, 2);
	assert_int_equal(ngot, 0);
	assert_int_equal(h2_tracker_stats(t)->dropped[H2_DROP_EVENTS], 1);
	assert_int_equal(h2_tracker_stats(t)->streams_unfinished, 1);
	assert_int_equal(h2_tracker_stats(t)->conns, 0);
	fake_free(&f);

	fake_init(&f, t, 91, OBSBPF_DIR_SERVER);
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x7f }; /* an index far past the table */
	frame(&f, 1, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS, 1, garbage, sizeof(garbage));
	assert_int_equal(h2_tracker_stats(t)->dropped[H2_DROP_HPACK], 1);
	fake_free(&f);

	fake_init(&f, t, 92, OBSBPF_DIR_SERVER);
	frame(&f, 1, OBSBPF_H2_CONTINUATION, OBSBPF_H2_F_END_HEADERS, 1, garbage, 1);
	assert_int_equal(h2_tracker_stats(t)->dropped[H2_DROP_SEQUENCE], 1);
	fake_free(&f);

	fake_init(&f, t, 93, OBSBPF_DIR_SERVER);
	struct obsbpf_h2_event e = { .kind = OBSBPF_H2_EV_LOST, .conn = 93, .type = OBSBPF_H2_LOST_GAP };
	h2_tracker_event(t, &e, sizeof(e));
	assert_int_equal(h2_tracker_stats(t)->dropped[H2_DROP_GAP], 1);
	assert_string_equal(h2_drop_name(H2_DROP_GAP), "gap");
	fake_free(&f);
	assert_int_equal(h2_tracker_stats(t)->opened, 4);
}

/* The connection closes with requests open: plain requests without response headers end there
 * with the kernel's reason as their status; a gRPC call ends with the status gRPC gives a call
 * the close cut short (the side that ended the connection cancelled it, a client whose server
 * went away finds it unavailable); a response under way stays unfinished; a close whose reason
 * is not known (type 0, a TLS connection forgotten) ends nothing. */
static const char *const req_grpc[] = {
	":method", "POST",	 ":scheme", "http",	    ":path",
	"/a.B/C",  ":authority", "b",	    "content-type", "application/grpc"
};

static void close_conn(struct fake *f, uint64_t conn, uint8_t dir, uint16_t why)
{
	struct obsbpf_h2_event e = { .ts_ns = f->now + 5000,
				     .kind = OBSBPF_H2_EV_CLOSE,
				     .conn = conn,
				     .pod_id = 3,
				     .dir = dir,
				     .type = OBSBPF_H2_CLOSE_TYPE(why) };
	h2_tracker_event(f->t, &e, sizeof(e));
}

static void test_close_unanswered(void **state)
{
	struct h2_tracker *t = *state;
	struct fake f;
	fake_init(&f, t, 95, OBSBPF_DIR_CLIENT);
	headers(&f, 1, OBSBPF_H2_F_END_STREAM, 1, req_get, 4);
	uint64_t start = f.now - 1;
	headers(&f, 1, OBSBPF_H2_F_END_STREAM, 3, req_get, 4);
	headers(&f, 1, 0, 5, req_grpc, 5);
	headers(&f, 0, 0, 3, resp_200, 2); /* stream 3: a response under way */
	close_conn(&f, 95, OBSBPF_DIR_CLIENT, OBSBPF_STATUS_TIMEOUT);
	assert_int_equal(ngot, 2);
	assert_int_equal(got[0].stream, 5); /* the client ended it: CANCELLED */
	assert_true(got[0].grpc);
	assert_int_equal(got[0].grpc_status, 1);
	assert_int_equal(got[0].closed, OBSBPF_STATUS_TIMEOUT);
	assert_int_equal(got[0].end_ns, f.now + 5000);
	assert_int_equal(got[1].stream, 1);
	assert_int_equal(got[1].status, OBSBPF_STATUS_TIMEOUT);
	assert_int_equal(got[1].closed, 0);
	assert_int_equal(got[1].start_ns, start);
	assert_int_equal(got[1].end_ns, f.now + 5000);
	assert_false(got[1].reset);
	assert_int_equal(h2_tracker_stats(t)->streams_unfinished, 1);
	assert_int_equal(h2_tracker_stats(t)->conns, 0);
	fake_free(&f);

	/* The server reset it: its client finds it UNAVAILABLE, and so does the server's own side
	 * when it closed first; a server whose client went away sees the call CANCELLED. */
	fake_init(&f, t, 97, OBSBPF_DIR_CLIENT);
	headers(&f, 1, 0, 1, req_grpc, 5);
	close_conn(&f, 97, OBSBPF_DIR_CLIENT, OBSBPF_STATUS_CONN_RESET);
	fake_free(&f);
	fake_init(&f, t, 98, OBSBPF_DIR_SERVER);
	headers(&f, 1, 0, 1, req_grpc, 5);
	close_conn(&f, 98, OBSBPF_DIR_SERVER, OBSBPF_STATUS_TIMEOUT);
	fake_free(&f);
	fake_init(&f, t, 99, OBSBPF_DIR_SERVER);
	headers(&f, 1, 0, 1, req_grpc, 5);
	close_conn(&f, 99, OBSBPF_DIR_SERVER, OBSBPF_STATUS_CONN_CLOSED);
	fake_free(&f);
	assert_int_equal(ngot, 5);
	assert_int_equal(got[2].grpc_status, 14);
	assert_int_equal(got[2].closed, OBSBPF_STATUS_CONN_RESET);
	assert_int_equal(got[3].grpc_status, 14);
	assert_int_equal(got[3].dir, OBSBPF_DIR_SERVER);
	assert_int_equal(got[4].grpc_status, 1);
	assert_int_equal(got[4].closed, OBSBPF_STATUS_CONN_CLOSED);

	fake_init(&f, t, 96, OBSBPF_DIR_SERVER);
	headers(&f, 1, OBSBPF_H2_F_END_STREAM, 1, req_get, 4);
	send_conn(&f, OBSBPF_H2_EV_CLOSE); /* type 0 */
	assert_int_equal(ngot, 5);
	assert_int_equal(h2_tracker_stats(t)->streams_unfinished, 2);
	fake_free(&f);
}

/* Found by fuzz_h2: a HEADERS frame with an empty payload (an empty block, no buffer behind it)
 * decodes as a block with no fields. */
static void test_empty_block(void **state)
{
	struct fake f;
	fake_init(&f, *state, 95, OBSBPF_DIR_SERVER);
	frame(&f, 1, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS | OBSBPF_H2_F_END_STREAM, 1, NULL, 0);
	headers(&f, 0, OBSBPF_H2_F_END_STREAM, 1, resp_200, 2);
	assert_int_equal(ngot, 1);
	assert_string_equal(got[0].method, "");
	assert_int_equal(got[0].status, 200);
	fake_free(&f);
}

/* Limits: connections beyond max_conns are not decoded (counted), streams beyond max_streams
 * are not measured (counted), a block beyond max_block gives the connection up. */
static void test_limits(void **state)
{
	(void)state;
	struct h2_limits l = { .max_conns = 2, .max_streams = 2, .max_block = 512, .max_table = 4096 };
	struct h2_tracker *t = h2_tracker_new(&l, on_x, NULL);
	struct fake f[3];
	for (int i = 0; i < 3; i++)
		fake_init(&f[i], t, 100 + (unsigned)i, OBSBPF_DIR_SERVER);
	assert_int_equal(h2_tracker_stats(t)->dropped[H2_DROP_LIMIT], 1);
	assert_int_equal(h2_tracker_stats(t)->conns, 2);
	for (uint32_t s = 1; s <= 5; s += 2)
		headers(&f[0], 1, OBSBPF_H2_F_END_STREAM, s, req_get, 4);
	assert_int_equal(h2_tracker_stats(t)->streams_untracked, 1);
	char big[1024];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const char *req[] = { ":method", "GET", ":path", big };
	headers(&f[1], 1, OBSBPF_H2_F_END_STREAM, 1, req, 2);
	assert_int_equal(h2_tracker_stats(t)->dropped[H2_DROP_BLOCK], 1);
	/* A closed connection makes room. */
	send_conn(&f[1], OBSBPF_H2_EV_CLOSE);
	send_conn(&f[2], OBSBPF_H2_EV_CLOSE);
	struct fake g;
	fake_init(&g, t, 200, OBSBPF_DIR_SERVER);
	assert_int_equal(h2_tracker_stats(t)->conns, 2);
	h2_tracker_forget_pod(t, 3);
	assert_int_equal(h2_tracker_stats(t)->conns, 0);
	for (int i = 0; i < 3; i++)
		fake_free(&f[i]);
	fake_free(&g);
	h2_tracker_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleaved_dynamic_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grpc_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_http_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continuation_padding_settings_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_traceparent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_unanswered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_block, setup, teardown),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
