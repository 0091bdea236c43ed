// SPDX-License-Identifier: GPL-2.0
/* What a Fluent Forward server sends back, read as logs/forward.c (do_read, handle_replies,
 * handle_msg) reads it: the input's bytes arrive in reads of the size the first byte picks into
 * the connection's 64 KiB reply buffer; forward_reply_scan_more measures each reply from its
 * msgpack headers, resuming where the last read left it, and only a complete one that fits
 * reaches msgpack_unpack_next; each object is handled as the connection's state wants it: HELO,
 * then PONG (shared-key handshake, when bit 0 of the first byte asks for one), then acks of the
 * chunk in flight. A reply the scan refuses ("unreadable response", "response too large") ends
 * the connection, as in the agent. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "logs/forward.h"

enum state {
	HELO,
	PONG,
	ACK,
	DOWN
};

static const char salt[] = "0123456789abcdef0123456789abcdef";
static const char key[] = "s3cr#t";
static const char host[] = "obsbpf-node-1";
static const char chunk_id[] = "c29tZS1jaHVuay1pZA==";

struct conn {
	enum state st;
	char nonce[256];
	size_t nonce_len;
	unsigned acks;
};

static void handle(struct conn *c, const msgpack_object *o)
{
	if (c->st == HELO) {
		char auth[256];
		size_t al;
		if (forward_parse_helo(o, c->nonce, sizeof(c->nonce), &c->nonce_len, auth, sizeof(auth),
				       &al)) {
			c->st = DOWN;
			return;
		}
		FUZZ_CHECK(c->nonce_len < sizeof(c->nonce) && al < sizeof(auth));
		msgpack_sbuffer b;
		msgpack_packer pk;
		msgpack_sbuffer_init(&b);
		msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
		forward_pack_ping(&pk, host, salt, c->nonce, c->nonce_len, key);
		msgpack_sbuffer_destroy(&b);
		c->st = PONG;
	} else if (c->st == PONG) {
		char reason[256];
		int rc = forward_check_pong(o, salt, c->nonce, c->nonce_len, key, reason, sizeof(reason));
		FUZZ_CHECK(rc == 0 || rc == -EACCES);
		FUZZ_CHECK(memchr(reason, '\0', sizeof(reason)));
		c->st = rc ? DOWN : ACK;
	} else if (c->st == ACK && forward_is_ack(o, chunk_id)) {
		c->acks++;
	}
}

/* The scan exists so that msgpack never allocates what a header claims: a reply it lets through
 * is at most 64 KiB, whose objects need at most ~1.5 MiB of msgpack_object arrays. An
 * allocation above 64 MiB (libFuzzer's own tables take 20) is a finding here, which ASan
 * reports, not a NULL to cope with. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "max_allocation_size_mb=64";
}

/* as forward.c's MAX_REPLY_BYTES and its rbuf */
#define REPLY_CAP (64 * 1024)
static uint8_t rbuf[REPLY_CAP];

/* forward.c handle_replies: the complete replies at the start of rbuf; false when the
 * connection failed. */
static bool handle_replies(struct conn *c, struct forward_scan *scan, size_t *rlen)
{
	size_t off = 0, n = 0, fresh_n = 0;
	int r = 0;
	while (c->st != DOWN) {
		r = forward_reply_scan_more(scan, rbuf + off, *rlen - off, REPLY_CAP, &n);
		/* resumed, the scan answers as one from the reply's start would (compared on the
		 * answers that end a reply: once per reply, so the target stays linear) */
		if (r != 0) {
			FUZZ_CHECK(forward_reply_scan(rbuf + off, *rlen - off, REPLY_CAP, &fresh_n) == r);
			FUZZ_CHECK(r != 1 || fresh_n == n);
		}
		if (r != 1)
			break;
		FUZZ_CHECK(n > 0 && n <= *rlen - off);
		msgpack_unpacked u;
		msgpack_unpacked_init(&u);
		size_t used = 0;
		int ur = msgpack_unpack_next(&u, (const char *)rbuf + off, n, &used);
		/* msgpack reads the object the scan measured, to its last byte, or refuses it (nesting
		 * deeper than its stack of 32): it never wants more bytes than the scan said */
		FUZZ_CHECK(ur == MSGPACK_UNPACK_SUCCESS
				   ? used == n
				   : ur == MSGPACK_UNPACK_PARSE_ERROR || ur == MSGPACK_UNPACK_NOMEM_ERROR);
		if (ur != MSGPACK_UNPACK_SUCCESS) {
			msgpack_unpacked_destroy(&u);
			r = -EPROTO;
			break;
		}
		off += n;
		handle(c, &u.data);
		msgpack_unpacked_destroy(&u);
	}
	FUZZ_CHECK(r == 1 || r == 0 || r == -EPROTO || r == -E2BIG);
	if (c->st == DOWN || r < 0) {
		c->st = DOWN;
		return false;
	}
	memmove(rbuf, rbuf + off, *rlen - off);
	*rlen -= off;
	/* an incomplete reply always leaves room to read the rest of it */
	FUZZ_CHECK(*rlen < REPLY_CAP);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	struct conn c = { .st = data[0] & 1 ? HELO : ACK };
	size_t step = (data[0] >> 1) + 1; /* bytes per read(): 1..128 */
	size_t rlen = 0;
	struct forward_scan scan = { 0 };
	for (size_t off = 1; off < size && c.st != DOWN;) {
		size_t n = size - off < step ? size - off : step;
		if (n > REPLY_CAP - rlen)
			n = REPLY_CAP - rlen;
		memcpy(rbuf + rlen, data + off, n);
		rlen += n;
		off += n;
		if (!handle_replies(&c, &scan, &rlen))
			break;
	}
	return 0;
}
