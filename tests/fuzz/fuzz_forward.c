// SPDX-License-Identifier: GPL-2.0
/* What a Fluent Forward server sends back (logs/forward.c do_read + handle_msg): a byte
 * stream fed to msgpack's streaming unpacker in the read sizes the first byte picks, each
 * object handled as the connection's state wants it: HELO, then PONG (shared-key handshake,
 * when bit 0 of the first byte asks for one), then acks of the chunk in flight. */
#include <errno.h>
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

/* msgpack-c allocates a container's elements when it reads the header: 5 bytes can ask for
 * 128 GiB. glibc's malloc refuses what overcommit cannot cover, and forward.c must cope
 * (MSGPACK_UNPACK_NOMEM_ERROR); so here too a huge malloc fails instead of ending the run. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=64";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	struct conn c = { .st = data[0] & 1 ? HELO : ACK };
	size_t step = (data[0] >> 1) + 1; /* bytes per read(): 1..128 */
	msgpack_unpacker up;
	FUZZ_CHECK(msgpack_unpacker_init(&up, 4096));
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	for (size_t off = 1; off < size && c.st != DOWN;) {
		FUZZ_CHECK(msgpack_unpacker_reserve_buffer(&up, 4096));
		size_t n = size - off < step ? size - off : step;
		memcpy(msgpack_unpacker_buffer(&up), data + off, n);
		msgpack_unpacker_buffer_consumed(&up, n);
		off += n;
		int r = MSGPACK_UNPACK_CONTINUE;
		while (c.st != DOWN && (r = msgpack_unpacker_next(&up, &u)) == MSGPACK_UNPACK_SUCCESS)
			handle(&c, &u.data);
		if (c.st != DOWN && (r == MSGPACK_UNPACK_PARSE_ERROR || r == MSGPACK_UNPACK_NOMEM_ERROR))
			c.st = DOWN; /* "unreadable response": reconnect */
	}
	msgpack_unpacked_destroy(&u);
	msgpack_unpacker_destroy(&up);
	return 0;
}
