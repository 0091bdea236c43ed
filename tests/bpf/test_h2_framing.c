// SPDX-License-Identifier: GPL-2.0
/* HTTP/2 framing on tc ingress under BPF_PROG_RUN (see test_tc_parse.c for the fixture): the
 * real object follows crafted frames on a real loopback connection, and each case checks the
 * events of ring buffer h2_events, the connection's state and the counters. The frames are
 * what RFC 9113 says a peer sends; what is in a header block is user space's (nghttp2), so the
 * blocks here are opaque bytes that must come out whole and in order.
 *
 * Not reachable here: tc egress (a dummy socket under BPF_PROG_RUN) and sk_msg (no
 * BPF_PROG_RUN); the integration tests cover the sending side with real HTTP/2 software. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include <nghttp2/nghttp2.h>
#include <obsbpf/h2.h>
#include "obsbpf.skel.h"

#define MAX_EV 320

static struct bpfut u;
static bool loaded;
static struct bpfut_pair pr;
static struct ring_buffer *h2rb;
static struct obsbpf_h2_event ev[MAX_EV];
static int nev;
static struct obsbpf_h2_event open_ev; /* the last OPEN: kept apart from the frames' events */
static int nopen;

static int on_h2(void *ctx, void *data, size_t len)
{
	(void)ctx;
	/* An event without payload bytes is cut where they would start. */
	if (len < OBSBPF_H2_EVENT_HDR || len > sizeof(ev[0]))
		return 0;
	struct obsbpf_h2_event e = { 0 };
	memcpy(&e, data, len);
	assert_true(len >= OBSBPF_H2_EVENT_HDR + e.len);
	if (e.len == 0 && e.kind != OBSBPF_H2_EV_OPEN)
		assert_int_equal(len, OBSBPF_H2_EVENT_HDR);
	if (e.kind == OBSBPF_H2_EV_OPEN) {
		open_ev = e;
		nopen++;
	} else if (nev < MAX_EV) {
		ev[nev++] = e;
	}
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	int err = bpfut_open(&u);
	if (err) {
		fprintf(stderr, "bpf-unit: load the object and make the scratch cgroup: %s\n",
			strerror(-err));
		return -1;
	}
	loaded = true;
	h2rb = ring_buffer__new(bpf_map__fd(u.skel->maps.h2_events), on_h2, NULL, NULL);
	return h2rb ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	ring_buffer__free(h2rb);
	if (loaded)
		bpfut_close(&u);
	return 0;
}

static int64_t h2_live(void)
{
	uint32_t zero = 0;
	int64_t n = -1;
	bpf_map_lookup_elem(bpf_map__fd(u.skel->maps.h2_live), &zero, &n);
	return n;
}

static int events(void)
{
	ring_buffer__consume(h2rb);
	return nev;
}

static int setup(void **state)
{
	(void)state;
	pr.client = pr.server = -1;
	if (!loaded)
		return 0;
	int err = bpfut_reset(&u);
	if (!err)
		err = bpfut_pair_open(&u, &pr, AF_INET);
	if (err)
		fprintf(stderr, "bpf-unit: connection: %s\n", strerror(-err));
	events();
	nev = nopen = 0;
	return err ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	bpfut_pair_close(&pr);
	return 0;
}

#define NEED_ROOT()             \
	do {                    \
		if (!loaded)    \
			skip(); \
	} while (0)

/* Appends a frame to out at *n. */
static void frame(uint8_t *out, size_t *n, uint8_t type, uint8_t flags, uint32_t stream, const void *payload,
		  uint32_t len)
{
	uint8_t *p = out + *n;
	p[0] = (uint8_t)(len >> 16);
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	p[3] = type;
	p[4] = flags;
	p[5] = (uint8_t)(stream >> 24 & 0x7f);
	p[6] = (uint8_t)(stream >> 16);
	p[7] = (uint8_t)(stream >> 8);
	p[8] = (uint8_t)stream;
	if (len)
		memcpy(p + 9, payload, len);
	*n += 9 + len;
}

/* The client's preface and its SETTINGS (one: a table size), as a client with prior
 * knowledge opens. */
static const uint8_t client_settings[6] = { 0, 1, 0, 0, 0x10, 0 };

static size_t opening(uint8_t *out)
{
	size_t n = OBSBPF_H2_PREFACE_LEN;
	memcpy(out, OBSBPF_H2_PREFACE, n);
	frame(out, &n, OBSBPF_H2_SETTINGS, 0, 0, client_settings, sizeof(client_settings));
	return n;
}

/* A segment of the client's stream at offset off arriving at the server end. */
static void to_server(uint32_t off, const uint8_t *b, size_t len)
{
	assert_int_equal(bpfut_ingress(&u, &pr.caddr, &pr.saddr, pr.c2s_seq + off, (const char *)b, len), 0);
}

static void to_client(uint32_t off, const uint8_t *b, size_t len)
{
	assert_int_equal(bpfut_ingress(&u, &pr.saddr, &pr.caddr, pr.s2c_seq + off, (const char *)b, len), 0);
}

static struct obsbpf_conn conn_of(int fd)
{
	struct obsbpf_conn c;
	assert_int_equal(bpfut_conn_get(&u, fd, &c), 0);
	return c;
}

static void assert_event(int i, uint8_t kind, uint8_t type, uint32_t stream, uint16_t off, const void *data,
			 uint16_t len)
{
	assert_true(i < nev);
	const struct obsbpf_h2_event *e = &ev[i];
	assert_int_equal(e->kind, kind);
	assert_int_equal(e->type, type);
	assert_int_equal(e->stream, stream);
	assert_int_equal(e->off, off);
	assert_int_equal(e->len, len);
	if (len)
		assert_memory_equal(e->data, data, len);
}

/* Prior knowledge on a server connection: the preface makes it HTTP/2, and its frames are
 * followed in the same segment: SETTINGS, a request's HEADERS, DATA ending the stream. */
static void test_preface_server(void **state)
{
	(void)state;
	NEED_ROOT();
	uint8_t b[512];
	size_t n = opening(b);
	static const uint8_t block[] = { 0x82, 0x86, 0x84, 0x41, 0x03, 'a', '.', 'b' };
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS, 1, block, sizeof(block));
	frame(b, &n, OBSBPF_H2_DATA, OBSBPF_H2_F_END_STREAM, 1, "hello", 5);
	uint64_t before = bpfut_now_ns();
	to_server(0, b, n);
	struct obsbpf_conn c = conn_of(pr.server);
	assert_int_equal(c.proto, OBSBPF_PROTO_HTTP2);
	assert_int_equal(c.h2[1].sync, 1);
	assert_int_equal(c.h2[1].pos, pr.c2s_seq + n);
	assert_int_equal(c.h2[1].pos, c.h2[1].frame_end); /* at the next frame header */
	assert_int_equal(c.h2[0].sync, 1);
	assert_int_equal(c.h2[0].pos, pr.s2c_seq); /* the server's side: from its first byte */
	assert_int_equal(bpfut_stat(&u, OBSBPF_ST_CONN_H2), 1);
	assert_int_equal(bpfut_stat(&u, OBSBPF_ST_CONN_OTHER), 0);
	assert_int_equal(h2_live(), 1);

	assert_int_equal(events(), 3);
	/* OPEN first, with the connection's addresses as the server sees them. */
	assert_int_equal(nopen, 1);
	const struct obsbpf_addrs *a = (const void *)open_ev.data;
	assert_int_equal(open_ev.len, sizeof(*a));
	assert_int_equal(a->family, AF_INET);
	assert_int_equal(a->local_port, ntohs(pr.saddr.sin_port));
	assert_int_equal(a->remote_port, ntohs(pr.caddr.sin_port));
	assert_true(open_ev.conn == ev[0].conn);
	assert_true(open_ev.ts_ns <= ev[0].ts_ns);
	assert_event(0, OBSBPF_H2_EV_FRAME, OBSBPF_H2_SETTINGS, 0, 0, client_settings, 6);
	assert_int_equal(ev[0].seq, pr.c2s_seq + OBSBPF_H2_PREFACE_LEN + 9);
	assert_event(1, OBSBPF_H2_EV_FRAME, OBSBPF_H2_HEADERS, 1, 0, block, sizeof(block));
	assert_int_equal(ev[1].flags, OBSBPF_H2_F_END_HEADERS);
	assert_int_equal(ev[1].frame_len, sizeof(block));
	assert_event(2, OBSBPF_H2_EV_FRAME, OBSBPF_H2_DATA, 1, 0, NULL, 0); /* no payload */
	assert_int_equal(ev[2].flags, OBSBPF_H2_F_END_STREAM);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ev[i].n, i + 1); /* numbered per direction */
		assert_int_equal(ev[i].dir, OBSBPF_DIR_SERVER);
		assert_int_equal(ev[i].from_client, 1);
		assert_int_equal(ev[i].pod_id, BPFUT_POD_ID);
		assert_true(ev[i].ts_ns >= before && ev[i].ts_ns <= bpfut_now_ns());
		assert_int_not_equal(ev[i].conn, 0);
	}
	/* Closing the connection tells user space, and it is no longer counted live. */
	bpfut_pair_close(&pr);
	assert_int_equal(events(), 4);
	assert_int_equal(ev[3].kind, OBSBPF_H2_EV_CLOSE);
	assert_true(ev[3].conn == ev[0].conn);
	assert_int_equal(h2_live(), 0);
}

/* A client connection: the server speaks first with SETTINGS (prior knowledge), and its
 * response frames are followed from there. */
static void test_server_settings_client(void **state)
{
	(void)state;
	NEED_ROOT();
	uint8_t b[256];
	size_t n = 0;
	static const uint8_t settings[12] = { 0, 3, 0, 0, 0, 100, 0, 4, 0, 1, 0, 0 };
	frame(b, &n, OBSBPF_H2_SETTINGS, 0, 0, settings, sizeof(settings));
	frame(b, &n, OBSBPF_H2_SETTINGS, OBSBPF_H2_F_ACK, 0, NULL, 0); /* an ACK: not handed on */
	static const uint8_t block[] = { 0x88 };		       /* :status 200 */
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS | OBSBPF_H2_F_END_STREAM, 1, block, 1);
	to_client(0, b, n);
	struct obsbpf_conn c = conn_of(pr.client);
	assert_int_equal(c.proto, OBSBPF_PROTO_HTTP2);
	assert_int_equal(c.h2[0].pos, pr.s2c_seq + n);
	assert_int_equal(c.h2[1].pos, pr.c2s_seq + OBSBPF_H2_PREFACE_LEN); /* the client's frames */
	assert_int_equal(events(), 2);
	assert_event(0, OBSBPF_H2_EV_FRAME, OBSBPF_H2_SETTINGS, 0, 0, settings, sizeof(settings));
	assert_event(1, OBSBPF_H2_EV_FRAME, OBSBPF_H2_HEADERS, 1, 0, block, 1);
	assert_int_equal(ev[1].dir, OBSBPF_DIR_CLIENT);
	assert_int_equal(ev[1].from_client, 0);
	assert_int_equal(ev[1].flags, OBSBPF_H2_F_END_HEADERS | OBSBPF_H2_F_END_STREAM);
}

/* Frame headers and header blocks that span segments; a block longer than one event's chunk
 * comes in pieces whose offsets add up; DATA payloads are skipped however they are cut. */
static void test_split_frames(void **state)
{
	(void)state;
	NEED_ROOT();
	uint8_t b[2048], block[600];
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (uint8_t)(i * 7 + 1);
	size_t n = opening(b);
	size_t hdr_at = n;
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS, 3, block, sizeof(block));
	size_t data_at = n;
	static uint8_t body[300];
	frame(b, &n, OBSBPF_H2_DATA, 0, 3, body, sizeof(body));
	frame(b, &n, OBSBPF_H2_DATA, OBSBPF_H2_F_END_STREAM, 3, body, 10);
	/* Cut inside the HEADERS frame header, inside its block, inside the DATA header, inside
	 * the DATA payload. */
	size_t cuts[] = { 0, hdr_at + 4, hdr_at + 9 + 100, data_at + 3, data_at + 9 + 150, n };
	for (size_t i = 0; i + 1 < sizeof(cuts) / sizeof(cuts[0]); i++)
		to_server((uint32_t)cuts[i], b + cuts[i], cuts[i + 1] - cuts[i]);
	struct obsbpf_conn c = conn_of(pr.server);
	assert_int_equal(c.h2[1].sync, 1);
	assert_int_equal(c.h2[1].pos, pr.c2s_seq + n);
	events();
	/* SETTINGS; the block as 100 (first segment's share), 256, 244; the stream's end. */
	assert_int_equal(nev, 5);
	assert_event(1, OBSBPF_H2_EV_FRAME, OBSBPF_H2_HEADERS, 3, 0, block, 100);
	assert_event(2, OBSBPF_H2_EV_MORE, OBSBPF_H2_HEADERS, 3, 100, block + 100, 256);
	assert_event(3, OBSBPF_H2_EV_MORE, OBSBPF_H2_HEADERS, 3, 356, block + 356, 244);
	assert_int_equal(ev[2].seq, pr.c2s_seq + hdr_at + 9 + 100);
	assert_event(4, OBSBPF_H2_EV_FRAME, OBSBPF_H2_DATA, 3, 0, NULL, 0);
	assert_int_equal(ev[4].flags, OBSBPF_H2_F_END_STREAM);
}

/* Many streams interleaved in one segment, CONTINUATION, PRIORITY, WINDOW_UPDATE, RST_STREAM
 * and GOAWAY: every frame user space needs, in the order sent, nothing else. */
static void test_interleaved(void **state)
{
	(void)state;
	NEED_ROOT();
	uint8_t b[1024];
	size_t n = opening(b);
	static const uint8_t prio[5] = { 0, 0, 0, 1, 16 }, wu[4] = { 0, 0, 1, 0 }, rst[4] = { 0, 0, 0, 8 },
			     ga[8] = { 0, 0, 0, 5, 0, 0, 0, 0 };
	frame(b, &n, OBSBPF_H2_HEADERS, 0, 1, "A1", 2); /* block continues */
	frame(b, &n, OBSBPF_H2_CONTINUATION, OBSBPF_H2_F_END_HEADERS, 1, "A2", 2);
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS, 3, "B", 1);
	frame(b, &n, OBSBPF_H2_PRIORITY, 0, 3, prio, 5);
	frame(b, &n, OBSBPF_H2_WINDOW_UPDATE, 0, 0, wu, 4);
	frame(b, &n, OBSBPF_H2_DATA, 0, 1, "xxxx", 4);
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS | OBSBPF_H2_F_END_STREAM, 5, "C", 1);
	frame(b, &n, OBSBPF_H2_DATA, OBSBPF_H2_F_END_STREAM, 3, "yy", 2);
	frame(b, &n, OBSBPF_H2_RST_STREAM, 0, 1, rst, 4);
	frame(b, &n, 0x42, 0, 0, "??", 2); /* an unknown type: skipped, as peers do */
	frame(b, &n, OBSBPF_H2_GOAWAY, 0, 0, ga, 8);
	to_server(0, b, n);
	assert_int_equal(events(), 8);
	assert_event(0, OBSBPF_H2_EV_FRAME, OBSBPF_H2_SETTINGS, 0, 0, client_settings, 6);
	assert_event(1, OBSBPF_H2_EV_FRAME, OBSBPF_H2_HEADERS, 1, 0, "A1", 2);
	assert_event(2, OBSBPF_H2_EV_FRAME, OBSBPF_H2_CONTINUATION, 1, 0, "A2", 2);
	assert_event(3, OBSBPF_H2_EV_FRAME, OBSBPF_H2_HEADERS, 3, 0, "B", 1);
	assert_event(4, OBSBPF_H2_EV_FRAME, OBSBPF_H2_HEADERS, 5, 0, "C", 1);
	assert_event(5, OBSBPF_H2_EV_FRAME, OBSBPF_H2_DATA, 3, 0, NULL, 0);
	assert_event(6, OBSBPF_H2_EV_FRAME, OBSBPF_H2_RST_STREAM, 1, 0, rst, 4);
	assert_event(7, OBSBPF_H2_EV_FRAME, OBSBPF_H2_GOAWAY, 0, 0, ga, 8);
	assert_int_equal(conn_of(pr.server).h2[1].sync, 1);
}

/* Retransmits (whole, or overlapping what was followed) add nothing; a segment that skips
 * bytes inside a DATA payload is harmless; one that skips a frame header loses the
 * connection, which is counted, told to user space, and no longer followed. */
static void test_retransmit_and_gap(void **state)
{
	(void)state;
	NEED_ROOT();
	uint8_t b[1024];
	size_t n = opening(b);
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS, 1, "H", 1);
	size_t data_at = n;
	static uint8_t body[200];
	frame(b, &n, OBSBPF_H2_DATA, 0, 1, body, sizeof(body));
	size_t after = n;
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS, 3, "J", 1);
	to_server(0, b, data_at + 9 + 50);
	to_server(0, b, data_at + 9 + 50); /* again */
	assert_int_equal(events(), 2);
	/* Payload bytes 50..99 never seen, the rest arrives: still in sync. */
	to_server((uint32_t)(data_at + 9 + 100), b + data_at + 9 + 100, n - (data_at + 9 + 100));
	assert_int_equal(events(), 3);
	assert_event(2, OBSBPF_H2_EV_FRAME, OBSBPF_H2_HEADERS, 3, 0, "J", 1);
	to_server((uint32_t)after, b + after, n - after); /* overlaps: nothing new */
	assert_int_equal(events(), 3);
	assert_int_equal(bpfut_stat(&u, OBSBPF_ST_H2_LOST_GAP), 0);

	/* The next frame header never arrives; a later one does. */
	uint8_t more[64];
	size_t m = 0;
	frame(more, &m, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS, 5, "K", 1);
	frame(more, &m, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS, 7, "L", 1);
	to_server((uint32_t)(n + 10), more + 10, m - 10);
	assert_int_equal(events(), 4);
	assert_int_equal(ev[3].kind, OBSBPF_H2_EV_LOST);
	assert_int_equal(ev[3].type, OBSBPF_H2_LOST_GAP);
	assert_int_equal(bpfut_stat(&u, OBSBPF_ST_H2_LOST_GAP), 1);
	struct obsbpf_conn c = conn_of(pr.server);
	assert_int_equal(c.h2[0].sync, 0);
	assert_int_equal(c.h2[1].sync, 0);
	assert_int_equal(c.proto, OBSBPF_PROTO_HTTP2); /* still HTTP/2: left alone, not re-parsed */
	to_server((uint32_t)n, more, m);
	assert_int_equal(events(), 4);
	assert_int_equal(h2_live(), 1); /* until it closes */
}

/* A frame header no peer sends (SETTINGS on a stream, PING of the wrong length). */
static void test_malformed(void **state)
{
	(void)state;
	NEED_ROOT();
	uint8_t b[256];
	size_t n = opening(b);
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS, 1, "H", 1);
	frame(b, &n, OBSBPF_H2_PING, 0, 0, "1234567", 7);
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS, 3, "J", 1);
	to_server(0, b, n);
	assert_int_equal(events(), 3);
	assert_event(1, OBSBPF_H2_EV_FRAME, OBSBPF_H2_HEADERS, 1, 0, "H", 1);
	assert_int_equal(ev[2].kind, OBSBPF_H2_EV_LOST);
	assert_int_equal(ev[2].type, OBSBPF_H2_LOST_MALFORMED);
	assert_int_equal(bpfut_stat(&u, OBSBPF_ST_H2_LOST_MALFORMED), 1);
}

/* A segment packed with small frames (a streaming client's messages, 300 DATA frames and a
 * HEADERS at the end): every one is followed, in one run of the program. */
static void test_many_frames(void **state)
{
	(void)state;
	NEED_ROOT();
	static uint8_t b[4096];
	size_t n = opening(b);
	for (int i = 0; i < 300; i++)
		frame(b, &n, OBSBPF_H2_DATA, 0, 1, NULL, 0);
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS, 3, "Z", 1);
	assert_true(n < 3000); /* what one BPF_PROG_RUN frame holds */
	to_server(0, b, n);
	assert_int_equal(events(), 2);
	assert_event(1, OBSBPF_H2_EV_FRAME, OBSBPF_H2_HEADERS, 3, 0, "Z", 1);
	assert_int_equal(ev[1].n, 2); /* the direction's second event */
	assert_int_equal(bpfut_stat(&u, OBSBPF_ST_H2_LOST_BUDGET), 0);
	assert_int_equal(conn_of(pr.server).h2[1].pos, pr.c2s_seq + n);
}

/* Request HEADERS at a server end, tracing on: the kernel gives each request its server span's
 * context, continued from a traceparent its block carries (as obsbpf writes it: raw; as an
 * HPACK encoder does: Huffman-coded, the name from the dynamic table), or new; the thread that
 * reads it is to serve it (c->h2_trace). Trailers on an open stream get none. */
static void test_request_trace(void **state)
{
	(void)state;
	NEED_ROOT();
	assert_int_equal(bpfut_set_trace(&u, OBSBPF_PROP_W3C, 0xffffffffull + 1), 0);
	uint8_t b[1024];
	size_t n = opening(b);
	/* stream 1: the field as obsbpf inserts it, behind an indexed :method */
	uint8_t raw[2 + 2 + 11 + 1 + 55];
	size_t r = 0;
	raw[r++] = 0x82;
	raw[r++] = 0x84;
	raw[r++] = 0x00;
	raw[r++] = 11;
	memcpy(raw + r, "traceparent", 11), r += 11;
	raw[r++] = 55;
	memcpy(raw + r, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 55), r += 55;
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS | OBSBPF_H2_F_END_STREAM, 1, raw,
	      (uint32_t)r);
	/* stream 3: an encoder's block (nghttp2: Huffman, indexing), padded */
	nghttp2_hd_deflater *d;
	assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
	const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
	nghttp2_nv nv[] = { { (uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0 },
			    { (uint8_t *)":path", (uint8_t *)"/x", 5, 2, 0 },
			    { (uint8_t *)"traceparent", (uint8_t *)tp, 11, 55, 0 } };
	uint8_t blk[256];
	blk[0] = 3; /* pad length */
	ssize_t bn = nghttp2_hd_deflate_hd(d, blk + 1, sizeof(blk) - 4, nv, 3);
	assert_true(bn > 0);
	memset(blk + 1 + bn, 0, 3);
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS | OBSBPF_H2_F_PADDED, 3, blk,
	      (uint32_t)(bn + 4));
	/* stream 3's trailers: not a new request */
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS | OBSBPF_H2_F_END_STREAM, 3, "\x82", 1);
	/* stream 5: no traceparent */
	frame(b, &n, OBSBPF_H2_HEADERS, OBSBPF_H2_F_END_HEADERS | OBSBPF_H2_F_END_STREAM, 5, "\x82\x84", 2);
	nghttp2_hd_deflate_del(d);
	to_server(0, b, n);
	assert_int_equal(events(), 5);
	const struct obsbpf_trace *t = &ev[1].trace;
	assert_int_equal(t->origin, OBSBPF_TO_HEADER);
	assert_int_equal(t->trace_id[0], 0x4b);
	assert_int_equal(t->parent_id[7], 0xb7);
	assert_int_equal(t->flags, 1);
	t = &ev[2].trace;
	assert_int_equal(t->origin, OBSBPF_TO_HEADER);
	assert_int_equal(t->trace_id[0], 0x0a);
	assert_int_equal(t->parent_id[0], 0xb7);
	assert_int_equal(t->flags, 0);
	assert_int_equal(ev[3].trace.origin, OBSBPF_TO_NONE); /* trailers */
	t = &ev[4].trace;
	assert_int_equal(t->origin, OBSBPF_TO_NEW);
	assert_int_equal(t->flags, 1); /* sampled: the threshold takes every one */
	assert_int_equal(bpfut_stat(&u, OBSBPF_ST_TRACE_CONTINUED), 2);
	struct obsbpf_conn c = conn_of(pr.server);
	assert_memory_equal(&c.h2_trace, t, sizeof(*t));      /* the newest request */
	assert_int_equal(ev[0].trace.origin, OBSBPF_TO_NONE); /* SETTINGS */
}

/* Not a preface: a stream that starts "PRI * HTTP/2.0" but breaks off, or a preface that is
 * not the stream's first bytes, is not HTTP/2. */
static void test_not_preface(void **state)
{
	(void)state;
	NEED_ROOT();
	static const char half[] = "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n";
	to_server(0, (const uint8_t *)half, sizeof(half) - 1);
	assert_int_equal(conn_of(pr.server).proto, OBSBPF_PROTO_OTHER);
	assert_int_equal(bpfut_stat(&u, OBSBPF_ST_CONN_H2), 0);
	assert_int_equal(events(), 0);
	assert_int_equal(h2_live(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_preface_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_settings_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleaved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_and_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_preface, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_trace, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
