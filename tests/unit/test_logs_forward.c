// SPDX-License-Identifier: GPL-2.0
/* Fluent Forward: framing, acks and handshake digests (decoded with msgpack-c), the collector's
 * address, reply sizes, and a connection to a server the test plays (bad replies, stalls). The
 * files the forwarder reads and writes are test_logs_files.c's. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "logs/forward.h"
#include "logs/spool.h"
#include "loop/loop.h"
#include "logs_chunk.h"

static void entries(msgpack_sbuffer *sb, int n)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	for (int i = 0; i < n; i++) {
		msgpack_pack_array(&pk, 2);
		msgpack_pack_uint32(&pk, 1700000000u + (uint32_t)i);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str(&pk, 3);
		msgpack_pack_str_body(&pk, "log", 3);
		msgpack_pack_int(&pk, i);
	}
}

static void frame_and_decode(bool packed, bool gzip)
{
	msgpack_sbuffer e, pre, post, all;
	msgpack_sbuffer_init(&e);
	msgpack_sbuffer_init(&pre);
	msgpack_sbuffer_init(&post);
	msgpack_sbuffer_init(&all);
	entries(&e, 3);
	struct chunk c = { .records = 3, .len = e.size, .data = e.data, .gzip = gzip };
	strcpy(c.id, "qmFzZTY0IGNodW5rIGlkPQ==");
	forward_frame("app.logs", &c, packed, &pre, &post);
	msgpack_sbuffer_write(&all, pre.data, pre.size);
	msgpack_sbuffer_write(&all, e.data, e.size);
	msgpack_sbuffer_write(&all, post.data, post.size);

	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&u, all.data, all.size, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, all.size);
	const msgpack_object *m = &u.data;
	assert_int_equal(m->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(m->via.array.size, 3);
	assert_int_equal(m->via.array.ptr[0].type, MSGPACK_OBJECT_STR);
	assert_memory_equal(m->via.array.ptr[0].via.str.ptr, "app.logs", 8);
	const msgpack_object *body = &m->via.array.ptr[1];
	if (packed || gzip) {
		assert_int_equal(body->type, MSGPACK_OBJECT_BIN);
		assert_int_equal(body->via.bin.size, e.size);
		assert_memory_equal(body->via.bin.ptr, e.data, e.size);
	} else {
		assert_int_equal(body->type, MSGPACK_OBJECT_ARRAY);
		assert_int_equal(body->via.array.size, 3);
		assert_int_equal(body->via.array.ptr[2].via.array.ptr[0].via.u64, 1700000002u);
	}
	const msgpack_object *opt = &m->via.array.ptr[2];
	assert_int_equal(opt->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(opt->via.map.size, gzip ? 3 : 2);
	bool saw_size = false, saw_chunk = false, saw_gzip = false;
	for (uint32_t i = 0; i < opt->via.map.size; i++) {
		const msgpack_object *k = &opt->via.map.ptr[i].key, *v = &opt->via.map.ptr[i].val;
		if (k->via.str.size == 4 && !memcmp(k->via.str.ptr, "size", 4))
			saw_size = v->via.u64 == 3;
		if (k->via.str.size == 5 && !memcmp(k->via.str.ptr, "chunk", 5))
			saw_chunk = v->via.str.size == 24 && !memcmp(v->via.str.ptr, c.id, 24);
		if (k->via.str.size == 10 && !memcmp(k->via.str.ptr, "compressed", 10))
			saw_gzip = v->via.str.size == 4 && !memcmp(v->via.str.ptr, "gzip", 4);
	}
	assert_true(saw_size);
	assert_true(saw_chunk);
	assert_int_equal(saw_gzip, gzip);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&e);
	msgpack_sbuffer_destroy(&pre);
	msgpack_sbuffer_destroy(&post);
	msgpack_sbuffer_destroy(&all);
}

static void test_frame_packed(void **st)
{
	(void)st;
	frame_and_decode(true, false);
}
static void test_frame_forward(void **st)
{
	(void)st;
	frame_and_decode(false, false);
}
static void test_frame_gzip_is_packed(void **st)
{
	(void)st;
	frame_and_decode(false, true);
}

static msgpack_object unpack(msgpack_unpacked *u, msgpack_sbuffer *sb)
{
	msgpack_unpacked_init(u);
	assert_int_equal(msgpack_unpack_next(u, sb->data, sb->size, NULL), MSGPACK_UNPACK_SUCCESS);
	return u->data;
}

static void test_ack(void **st)
{
	(void)st;
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "ack", 3);
	msgpack_pack_str_with_body(&pk, "abc", 3);
	msgpack_unpacked u;
	msgpack_object o = unpack(&u, &sb);
	assert_true(forward_is_ack(&o, "abc"));
	assert_false(forward_is_ack(&o, "abd"));
	assert_false(forward_is_ack(&o, "ab"));
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

static void test_sha512(void **st)
{
	(void)st;
	char hex[129];
	const char *parts[] = { "a", "bc" };
	size_t lens[] = { 1, 2 };
	forward_sha512_hex(hex, parts, lens, 2);
	/* FIPS 180-2 test vector: SHA-512("abc") */
	assert_string_equal(hex,
			    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

static void test_handshake(void **st)
{
	(void)st;
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	/* HELO from the server */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_str_with_body(&pk, "HELO", 4);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "nonce", 5);
	msgpack_pack_bin_with_body(&pk, "N\0nce", 5);
	msgpack_pack_str_with_body(&pk, "auth", 4);
	msgpack_pack_str_with_body(&pk, "", 0);
	msgpack_pack_str_with_body(&pk, "keepalive", 9);
	msgpack_pack_true(&pk);
	msgpack_unpacked u;
	msgpack_object o = unpack(&u, &sb);
	char nonce[64], auth[64];
	size_t nl, al;
	assert_int_equal(forward_parse_helo(&o, nonce, sizeof(nonce), &nl, auth, sizeof(auth), &al), 0);
	assert_int_equal(nl, 5);
	assert_memory_equal(nonce, "N\0nce", 5);
	assert_int_equal(al, 0);
	msgpack_unpacked_destroy(&u);

	/* our PING: digest = sha512(salt + hostname + nonce + key) */
	msgpack_sbuffer_clear(&sb);
	forward_pack_ping(&pk, "node-1", "salty", nonce, nl, "k3y");
	o = unpack(&u, &sb);
	assert_int_equal(o.via.array.size, 6);
	char want[129];
	const char *parts[] = { "salty", "node-1", "N\0nce", "k3y" };
	size_t lens[] = { 5, 6, 5, 3 };
	forward_sha512_hex(want, parts, lens, 4);
	assert_int_equal(o.via.array.ptr[3].via.str.size, 128);
	assert_memory_equal(o.via.array.ptr[3].via.str.ptr, want, 128);
	msgpack_unpacked_destroy(&u);

	/* PONG: accepted only with the server's proof of the same key */
	for (int good = 0; good < 2; good++) {
		msgpack_sbuffer_clear(&sb);
		const char *sparts[] = { "salty", "collector", "N\0nce", good ? "k3y" : "other" };
		size_t slens[] = { 5, 9, 5, good ? 3 : 5 };
		char proof[129], reason[64];
		forward_sha512_hex(proof, sparts, slens, 4);
		msgpack_pack_array(&pk, 5);
		msgpack_pack_str_with_body(&pk, "PONG", 4);
		msgpack_pack_true(&pk);
		msgpack_pack_str_with_body(&pk, "", 0);
		msgpack_pack_str_with_body(&pk, "collector", 9);
		msgpack_pack_str_with_body(&pk, proof, 128);
		o = unpack(&u, &sb);
		assert_int_equal(forward_check_pong(&o, "salty", nonce, nl, "k3y", reason, sizeof(reason)),
				 good ? 0 : -EACCES);
		msgpack_unpacked_destroy(&u);
	}
	msgpack_sbuffer_destroy(&sb);
}

static void test_parse_addr(void **st)
{
	(void)st;
	char h[64], p[8];
	assert_int_equal(forward_parse_addr("collector.logging:24224", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "collector.logging");
	assert_string_equal(p, "24224");
	assert_int_equal(forward_parse_addr("[::1]:24224", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(forward_parse_addr("host", h, sizeof(h), p, sizeof(p)), -EINVAL);
	assert_int_equal(forward_parse_addr("host:", h, sizeof(h), p, sizeof(p)), -EINVAL);
	assert_int_equal(forward_parse_addr("host:99999", h, sizeof(h), p, sizeof(p)), -EINVAL);
	assert_int_equal(forward_parse_addr("::1:24224", h, sizeof(h), p, sizeof(p)), -EINVAL);
	assert_int_equal(forward_parse_addr(NULL, h, sizeof(h), p, sizeof(p)), -EINVAL);
}

/* Found by fuzzing (tests/fuzz/fuzz_forward.c): a refusing PONG with an empty reason handed
 * snprintf the NULL pointer msgpack-c gives an empty str (and HELO's empty auth, memcpy). */
static void test_fuzz_pong_empty_reason(void **st)
{
	(void)st;
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_str_with_body(&pk, "PONG", 4);
	msgpack_pack_false(&pk);
	msgpack_pack_str_with_body(&pk, "", 0);
	msgpack_pack_str_with_body(&pk, "", 0);
	msgpack_pack_str_with_body(&pk, "", 0);
	msgpack_unpacked u;
	msgpack_object o = unpack(&u, &sb);
	char reason[64];
	assert_int_equal(forward_check_pong(&o, "salty", "n", 1, "k3y", reason, sizeof(reason)), -EACCES);
	assert_string_equal(reason, "authentication refused");
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

/* The unreadable-reply test asks malloc for 128 GiB on purpose: ASan must say no, not abort. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static void acked(void *arg, struct chunk *c)
{
	(void)arg;
	chunk_free(c);
}

/* Reply sizes judged from msgpack headers: whole objects found, partial ones waited for, and
 * announced sizes beyond the cap refused before any byte of them arrives. */
static void test_reply_scan(void **st)
{
	(void)st;
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1); /* {"ack": "chunk-1"} */
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "ack", 3);
	msgpack_pack_str(&pk, 7);
	msgpack_pack_str_body(&pk, "chunk-1", 7);
	size_t ack_len = sb.size;
	msgpack_pack_array(&pk, 5); /* a PONG-like array with every kind of scalar */
	msgpack_pack_str(&pk, 300);
	for (int i = 0; i < 300; i++)
		msgpack_pack_str_body(&pk, "p", 1);
	msgpack_pack_double(&pk, 1.5);
	msgpack_pack_int64(&pk, -1234567890123);
	msgpack_pack_ext(&pk, 8, 0);
	msgpack_pack_ext_body(&pk, "\0\0\0\1\0\0\0\2", 8);
	msgpack_pack_nil(&pk);
	const uint8_t *b = (const uint8_t *)sb.data;
	size_t n = 0;
	assert_int_equal(forward_reply_scan(b, sb.size, 65536, &n), 1);
	assert_int_equal(n, ack_len);
	assert_int_equal(forward_reply_scan(b + ack_len, sb.size - ack_len, 65536, &n), 1);
	assert_int_equal(n, sb.size - ack_len);
	for (size_t cut = 0; cut < ack_len; cut++) /* any prefix: wait for more */
		assert_int_equal(forward_reply_scan(b, cut, 65536, &n), 0);
	assert_int_equal(forward_reply_scan(b + ack_len, 100, 65536, &n), 0);
	assert_int_equal(forward_reply_scan(b + ack_len, sb.size - ack_len, 200, &n), -E2BIG);
	msgpack_sbuffer_destroy(&sb);

	const uint8_t str32[] = { 0xdb, 0x7f, 0xff, 0xff, 0xff };	       /* 2 GiB string */
	const uint8_t map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };	       /* 2^32-1 pairs */
	const uint8_t nested[] = { 0x91, 0x91, 0xdd, 0x00, 0x10, 0x00, 0x00 }; /* [[array of 1M]] */
	const uint8_t bin16[] = { 0xc5, 0x01, 0x00, 'x' };		       /* 256 bytes, 1 here */
	assert_int_equal(forward_reply_scan(str32, sizeof(str32), 65536, &n), -E2BIG);
	assert_int_equal(forward_reply_scan(map32, sizeof(map32), 65536, &n), -E2BIG);
	assert_int_equal(forward_reply_scan(nested, sizeof(nested), 65536, &n), -E2BIG);
	assert_int_equal(forward_reply_scan(map32, 3, 65536, &n), 0); /* header not whole yet */
	assert_int_equal(forward_reply_scan(bin16, sizeof(bin16), 65536, &n), 0);
	assert_int_equal(forward_reply_scan((const uint8_t *)"\xc1", 1, 65536, &n), -EPROTO);
	assert_int_equal(forward_reply_scan((const uint8_t *)"\x07\xff", 2, 65536, &n), 1);
	assert_int_equal(n, 1);
}

/* A reply read a byte at a time is walked once: each call resumes where the last stopped (a
 * header not whole yet, a payload not all there) with the same answers as a scan from the start.
 * Rescanning from the start on every read cost 4.9 s of the agent's loop for one 64 KiB reply
 * arriving in 1-byte reads. */
static void test_reply_scan_resumed(void **state)
{
	(void)state;
	static uint8_t buf[65536];
	const size_t len = sizeof(buf) - 8; /* array16 of fixints, then a second reply: {"ack": "c"} */
	buf[0] = 0xdc;
	buf[1] = (uint8_t)((len - 3) >> 8);
	buf[2] = (uint8_t)(len - 3);
	const uint8_t ack[] = { 0x81, 0xa3, 'a', 'c', 'k', 0xa1, 'c' };
	memcpy(buf + len, ack, sizeof(ack));
	struct forward_scan s = { 0 };
	size_t n = 0, walked = 0;
	for (size_t have = 1; have < len; have++) {
		assert_int_equal(forward_reply_scan_more(&s, buf, have, 65536, &n), 0);
		assert_true(s.pos + 18 > have); /* no whole header left unwalked (18: fixext16's) */
		assert_true(s.pos >= walked);	/* and none walked twice */
		walked = s.pos;
		if (have % 4096 == 0) /* what a scan from the start says too */
			assert_int_equal(forward_reply_scan(buf, have, 65536, &n), 0);
	}
	assert_int_equal(forward_reply_scan_more(&s, buf, len, 65536, &n), 1);
	assert_int_equal(n, len);
	assert_int_equal(s.pos, 0); /* ready for the next reply */
	for (size_t have = 1; have < 7; have++)
		assert_int_equal(forward_reply_scan_more(&s, buf + len, have, 65536, &n), 0);
	assert_int_equal(forward_reply_scan_more(&s, buf + len, 7, 65536, &n), 1);
	assert_int_equal(n, 7);

	/* a str32 header in pieces, then what it claims: too big once the length is whole */
	const uint8_t str32[] = { 0x92, 0x01, 0xdb, 0x00, 0x01, 0x00, 0x00 };
	s = (struct forward_scan){ 0 };
	for (size_t have = 1; have < sizeof(str32); have++)
		assert_int_equal(forward_reply_scan_more(&s, str32, have, 65536, &n), 0);
	assert_int_equal(forward_reply_scan_more(&s, str32, sizeof(str32), 65536, &n), -E2BIG);
	/* a byte msgpack never uses, after a resumed start */
	const uint8_t bad[] = { 0x93, 0x01, 0xc1 };
	s = (struct forward_scan){ 0 };
	assert_int_equal(forward_reply_scan_more(&s, bad, 2, 65536, &n), 0);
	assert_int_equal(forward_reply_scan_more(&s, bad, 3, 65536, &n), -EPROTO);
}

/* A forward connection to a listener of ours: the chunk is sent, the test plays the server. */
struct fwd_rig {
	int ls, c;
	struct loop *l;
	struct chunk_queue q;
	struct forward *f;
};

static void rig_start(struct fwd_rig *r, size_t chunk_len, unsigned ack_timeout_ms, int sndbuf)
{
	r->ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (sndbuf) /* a small receive window on the server side (inherited by accepted sockets) */
		setsockopt(r->ls, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	assert_int_equal(bind(r->ls, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(r->ls, 1), 0);
	assert_int_equal(getsockname(r->ls, (struct sockaddr *)&a, &al), 0);
	static char port[8];
	snprintf(port, sizeof(port), "%u", ntohs(a.sin_port));
	r->l = loop_new();
	assert_int_equal(queue_init(&r->q, (size_t)64 << 20, NULL, 0), 0);
	assert_int_equal(queue_push(&r->q, mk_chunk(1, 1, chunk_len), false), 0);
	struct forward_opts o = { .host = "127.0.0.1",
				  .port = port,
				  .tag = "t",
				  .packed = true,
				  .ack_timeout_ms = ack_timeout_ms,
				  .retry_min_ms = 60000,
				  .retry_max_ms = 60000 };
	r->f = forward_new(r->l, &o, &r->q, acked, NULL);
	assert_non_null(r->f);
	forward_kick(r->f);
	r->c = accept4(r->ls, NULL, NULL, SOCK_CLOEXEC);
	assert_true(r->c >= 0);
}

/* Runs the loop until the chunk's first bytes reach the server. */
static void rig_wait_sent(struct fwd_rig *r)
{
	char buf[4096];
	ssize_t n = 0;
	for (int i = 0; i < 100 && n <= 0; i++) {
		loop_run_once(r->l, 10);
		n = recv(r->c, buf, sizeof(buf), MSG_DONTWAIT);
	}
	assert_true(n > 0);
}

static void rig_stop(struct fwd_rig *r)
{
	forward_free(r->f);
	queue_free(&r->q);
	loop_free(r->l);
	close(r->c);
	close(r->ls);
}

/* Found by fuzzing (tests/fuzz/fuzz_forward.c): a reply whose header asks for more than malloc
 * gives (a map32 of 2^32-1 pairs: 128 GiB) left msgpack's unpacker unusable and the connection
 * waiting for the ack timeout; it now fails at once, to reconnect after the backoff. */
static void test_fuzz_unreadable_reply_fails(void **st)
{
	(void)st;
	void *big = malloc((size_t)1 << 38);
	if (big) { /* a machine where even that fits: the reply would just be waited for */
		free(big);
		skip();
	}
	struct fwd_rig r;
	rig_start(&r, 10, 60000, 0);
	rig_wait_sent(&r);
	assert_int_equal(send(r.c, "\xdf\xff\xff\xff\xff", 5, MSG_NOSIGNAL), 5);
	for (int i = 0; i < 20 && !forward_stats(r.f)->retries; i++)
		loop_run_once(r.l, 10);
	assert_int_equal(forward_stats(r.f)->retries, 1);
	assert_true(forward_stats(r.f)->failing);
	assert_int_equal(forward_stats(r.f)->ack_timeouts, 0);
	rig_stop(&r);
}

/* A server answering garbage that opens a huge string (str32 of 2 GiB) and then keeps sending:
 * msgpack's unpacker would buffer all of it, waiting for the string's end. The connection is
 * dropped once a reply outgrows any Forward reply (64 KiB), long before the ack timeout. */
static void test_oversized_reply_fails(void **st)
{
	(void)st;
	struct fwd_rig r;
	rig_start(&r, 10, 60000, 0);
	rig_wait_sent(&r);
	static char junk[256 * 1024];
	memset(junk, 'x', sizeof(junk));
	memcpy(junk, "\xdb\x7f\xff\xff\xff", 5);
	size_t off = 0;
	for (int i = 0; i < 200 && !forward_stats(r.f)->retries; i++) {
		if (off < sizeof(junk)) {
			ssize_t n = send(r.c, junk + off, sizeof(junk) - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				off += (size_t)n;
		}
		loop_run_once(r.l, 10);
	}
	assert_int_equal(forward_stats(r.f)->retries, 1);
	assert_int_equal(forward_stats(r.f)->bad_replies, 1);
	assert_int_equal(forward_stats(r.f)->ack_timeouts, 0);
	rig_stop(&r);
}

/* A server that accepts and never reads: a chunk larger than both sockets' buffers stays
 * half-sent. Without a deadline on the send itself the forwarder waited for ever (the ack
 * timeout starts only once the chunk is written); now it gives up and reconnects. */
static void test_send_stall_times_out(void **st)
{
	(void)st;
	struct fwd_rig r;
	rig_start(&r, (size_t)16 << 20, 300, 4096);
	for (int i = 0; i < 300 && !forward_stats(r.f)->retries; i++)
		loop_run_once(r.l, 10);
	assert_int_equal(forward_stats(r.f)->send_timeouts, 1);
	assert_int_equal(forward_stats(r.f)->retries, 1);
	assert_int_equal(forward_stats(r.f)->ack_timeouts, 0);
	assert_int_equal(forward_stats(r.f)->chunks, 0);
	rig_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_packed),
		cmocka_unit_test(test_frame_forward),
		cmocka_unit_test(test_frame_gzip_is_packed),
		cmocka_unit_test(test_ack),
		cmocka_unit_test(test_sha512),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_fuzz_pong_empty_reason),
		cmocka_unit_test(test_fuzz_unreadable_reply_fails),
		cmocka_unit_test(test_reply_scan),
		cmocka_unit_test(test_reply_scan_resumed),
		cmocka_unit_test(test_oversized_reply_fails),
		cmocka_unit_test(test_send_stall_times_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
