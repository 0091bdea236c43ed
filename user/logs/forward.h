/* SPDX-License-Identifier: GPL-2.0 */
/* Fluent Forward output (https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1):
 * one chunk in flight on a non-blocking TCP connection driven by the agent's loop, sent in
 * PackedForward (optionally gzip: CompressedPackedForward) or Forward mode with the "chunk"
 * option, and taken off the buffer only when the server's {"ack": chunk} arrives: at-least-once.
 * Optional shared-key handshake (HELO / PING / PONG). Failures and ack timeouts reconnect with
 * exponential backoff and jitter; the unacked chunk is sent again. */
#ifndef OBSBPF_LOGS_FORWARD_H
#define OBSBPF_LOGS_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "spool.h"

struct loop;

struct forward_opts {
	const char *host, *port;
	const char *tag;
	bool packed;		/* PackedForward (default) or Forward mode */
	const char *shared_key; /* NULL: no handshake */
	const char *self_hostname;
	unsigned ack_timeout_ms;
	unsigned retry_min_ms, retry_max_ms;
};

struct forward_stats {
	uint64_t records, bytes, chunks, retries, connects, ack_timeouts, auth_failures;
	uint64_t send_timeouts; /* a chunk's send made no progress within the ack timeout */
	uint64_t bad_replies;	/* the server sent what is no Forward reply (unreadable, too large) */
	bool connected;
	bool failing; /* the last attempt failed and no chunk was acked since */
};

/* Called when the head chunk of q was acked, after it was popped; the callee frees it. */
typedef void (*forward_acked_fn)(void *arg, struct chunk *c);

struct forward *forward_new(struct loop *l, const struct forward_opts *o, struct chunk_queue *q,
			    forward_acked_fn acked, void *arg);
void forward_free(struct forward *f);
/* The queue has a new chunk: start sending if idle. */
void forward_kick(struct forward *f);
const struct forward_stats *forward_stats(const struct forward *f);

/* Splits "HOST:PORT" / "[v6]:PORT"; returns 0 or -EINVAL. */
int forward_parse_addr(const char *s, char *host, size_t hn, char *port, size_t pn);

/* --- the wire format, exposed for tests --- */
/* The bytes before and after the payload: [tag, bin(len) | array(records), payload..., options]. */
void forward_frame(const char *tag, const struct chunk *c, bool packed, msgpack_sbuffer *pre,
		   msgpack_sbuffer *post);
/* Where the first msgpack object of buf[0..len) ends, judged from its headers alone (nothing is
 * allocated for what a peer announces): 1 with *obj_len set when it is complete, 0 when more
 * bytes are needed, -E2BIG when it cannot fit in cap bytes, -EPROTO for a byte msgpack never uses. */
int forward_reply_scan(const uint8_t *buf, size_t len, size_t cap, size_t *obj_len);
/* The same, resumed: a reply read in many pieces is walked once, not again from its start on
 * every read. s starts zeroed and belongs to the object at buf; it is zeroed again when the
 * answer is 1, and is of no further use after a negative one. */
struct forward_scan {
	uint64_t pos;	  /* bytes of the object walked */
	uint64_t pending; /* objects still to walk; 0 with pos 0: not started */
};
int forward_reply_scan_more(struct forward_scan *s, const uint8_t *buf, size_t len, size_t cap,
			    size_t *obj_len);
/* True when o is {"ack": id}. */
bool forward_is_ack(const msgpack_object *o, const char *id);
/* HELO: copies the nonce and auth salt; returns 0 or -EPROTO. */
int forward_parse_helo(const msgpack_object *o, char *nonce, size_t nn, size_t *nonce_len, char *auth,
		       size_t an, size_t *auth_len);
void forward_pack_ping(msgpack_packer *pk, const char *self_hostname, const char *salt, const char *nonce,
		       size_t nonce_len, const char *shared_key);
/* PONG: 0 when auth succeeded and the server proved it knows the key; -EACCES otherwise. */
int forward_check_pong(const msgpack_object *o, const char *salt, const char *nonce, size_t nonce_len,
		       const char *shared_key, char *reason, size_t rn);
/* Lowercase hex SHA-512 of the concatenation of parts (Forward handshake digests). */
void forward_sha512_hex(char out[129], const char *const *parts, const size_t *lens, int n);

#endif
