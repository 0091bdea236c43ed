// SPDX-License-Identifier: GPL-2.0
/* The Forward protocol's messages: framing a chunk, reading acks, the shared-key handshake. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "forward.h"
#include "util/hostport.h"

static void pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void forward_frame(const char *tag, const struct chunk *c, bool packed, msgpack_sbuffer *pre,
		   msgpack_sbuffer *post)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, pre, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	pack_cstr(&pk, tag);
	/* Forward mode cannot carry compressed entries: gzip implies PackedForward */
	if (packed || c->gzip)
		msgpack_pack_bin(&pk, c->len);
	else
		msgpack_pack_array(&pk, c->records);
	msgpack_packer_init(&pk, post, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, c->gzip ? 3 : 2);
	pack_cstr(&pk, "size");
	msgpack_pack_uint32(&pk, c->records);
	pack_cstr(&pk, "chunk");
	pack_cstr(&pk, c->id);
	if (c->gzip) {
		pack_cstr(&pk, "compressed");
		pack_cstr(&pk, "gzip");
	}
}

static bool is_str(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);
	return (o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN) && o->via.str.size == n &&
		!memcmp(o->via.str.ptr, s, n);
}

static const msgpack_object *map_get(const msgpack_object *o, const char *k)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < o->via.map.size; i++)
		if (is_str(&o->via.map.ptr[i].key, k))
			return &o->via.map.ptr[i].val;
	return NULL;
}

bool forward_is_ack(const msgpack_object *o, const char *id)
{
	const msgpack_object *a = map_get(o, "ack");
	return a && is_str(a, id);
}

static int copy_bytes(const msgpack_object *o, char *out, size_t n, size_t *len)
{
	*len = 0;
	if (!o)
		return 0;
	if ((o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_BIN) || o->via.str.size >= n)
		return -EPROTO;
	if (o->via.str.size) /* msgpack-c gives an empty str a NULL ptr: memcpy must not see it */
		memcpy(out, o->via.str.ptr, o->via.str.size);
	out[o->via.str.size] = '\0';
	*len = o->via.str.size;
	return 0;
}

int forward_parse_helo(const msgpack_object *o, char *nonce, size_t nn, size_t *nonce_len, char *auth,
		       size_t an, size_t *auth_len)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 2 || !is_str(&o->via.array.ptr[0], "HELO"))
		return -EPROTO;
	const msgpack_object *opt = &o->via.array.ptr[1];
	const msgpack_object *no = map_get(opt, "nonce");
	if (!no || copy_bytes(no, nonce, nn, nonce_len) ||
	    copy_bytes(map_get(opt, "auth"), auth, an, auth_len))
		return -EPROTO;
	return 0;
}

void forward_sha512_hex(char out[129], const char *const *parts, const size_t *lens, int n)
{
	struct sha512_ctx ctx;
	uint8_t d[SHA512_DIGEST_SIZE];
	sha512_init(&ctx);
	for (int i = 0; i < n; i++)
		sha512_update(&ctx, lens[i], (const uint8_t *)parts[i]);
	sha512_digest(&ctx, sizeof(d), d);
	for (int i = 0; i < SHA512_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void key_digest(char out[129], const char *salt, const char *host, const char *nonce, size_t nonce_len,
		       const char *key)
{
	const char *parts[] = { salt, host, nonce, key };
	size_t lens[] = { strlen(salt), strlen(host), nonce_len, strlen(key) };
	forward_sha512_hex(out, parts, lens, 4);
}

void forward_pack_ping(msgpack_packer *pk, const char *self_hostname, const char *salt, const char *nonce,
		       size_t nonce_len, const char *shared_key)
{
	char dig[129];
	key_digest(dig, salt, self_hostname, nonce, nonce_len, shared_key);
	msgpack_pack_array(pk, 6);
	pack_cstr(pk, "PING");
	pack_cstr(pk, self_hostname);
	pack_cstr(pk, salt);
	pack_cstr(pk, dig);
	/* no user authentication: empty username and password digest */
	pack_cstr(pk, "");
	pack_cstr(pk, "");
}

int forward_check_pong(const msgpack_object *o, const char *salt, const char *nonce, size_t nonce_len,
		       const char *shared_key, char *reason, size_t rn)
{
	snprintf(reason, rn, "malformed PONG");
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 5 || !is_str(&o->via.array.ptr[0], "PONG"))
		return -EACCES;
	const msgpack_object *a = o->via.array.ptr;
	if (a[1].type != MSGPACK_OBJECT_BOOLEAN || !a[1].via.boolean) {
		if (a[2].type == MSGPACK_OBJECT_STR && a[2].via.str.size) /* "" has a NULL ptr */
			snprintf(reason, rn, "%.*s", (int)a[2].via.str.size, a[2].via.str.ptr);
		else
			snprintf(reason, rn, "authentication refused");
		return -EACCES;
	}
	if (a[3].type != MSGPACK_OBJECT_STR || a[3].via.str.size > 255)
		return -EACCES;
	char host[256], dig[129];
	snprintf(host, sizeof(host), "%.*s", (int)a[3].via.str.size, a[3].via.str.ptr);
	key_digest(dig, salt, host, nonce, nonce_len, shared_key);
	if (!is_str(&a[4], dig)) {
		snprintf(reason, rn, "server's shared key digest does not match");
		return -EACCES;
	}
	reason[0] = '\0';
	return 0;
}

int forward_parse_addr(const char *s, char *host, size_t hn, char *port, size_t pn)
{
	if (!s)
		return -EINVAL;
	return hostport_split(s, strlen(s), 0, host, hn, port, pn);
}

/* The bytes a header announces: *hdr header bytes, then *payload raw bytes, then *objs nested
 * objects. Returns -EPROTO for 0xc1 (never used). */
static int head_size(const uint8_t *p, size_t avail, size_t *hdr, uint64_t *payload, uint64_t *objs)
{
	uint8_t b = p[0];
	static const uint8_t fixed[] = {
		/* 0xc0..0xdf: header size; 0: variable */
		1, 0, 1, 1, 2, 3, 5, 3,	 4,  6, 5, 9, 2, 3, 5, 9,
		2, 3, 5, 9, 3, 4, 6, 10, 18, 2, 3, 5, 3, 5, 3, 5,
	};
	*payload = *objs = 0;
	if (b <= 0x7f || b >= 0xe0) {
		*hdr = 1;
		return 0;
	}
	if (b <= 0x9f) {
		*hdr = 1;
		*objs = (uint64_t)(b & 0x0f) * (b <= 0x8f ? 2 : 1);
		return 0;
	}
	if (b <= 0xbf) {
		*hdr = 1;
		*payload = b & 0x1f;
		return 0;
	}
	if (b == 0xc1)
		return -EPROTO;
	*hdr = fixed[b - 0xc0];
	if (avail < *hdr)
		return 0;
	uint64_t n = 0; /* the big-endian length or count after the type byte */
	size_t lb = b == 0xc4 || b == 0xc7 || b == 0xd9				? 1
		: b == 0xc5 || b == 0xc8 || b == 0xda || b == 0xdc || b == 0xde ? 2
		: b == 0xc6 || b == 0xc9 || b == 0xdb || b == 0xdd || b == 0xdf ? 4
										: 0;
	for (size_t i = 1; i <= lb; i++)
		n = n << 8 | p[i];
	if ((b >= 0xc4 && b <= 0xc9) || (b >= 0xd9 && b <= 0xdb))
		*payload = n; /* bin, ext (its type byte is in hdr), str */
	else if (b >= 0xdc)
		*objs = b >= 0xde ? 2 * n : n;
	return 0;
}

int forward_reply_scan_more(struct forward_scan *s, const uint8_t *buf, size_t len, size_t cap,
			    size_t *obj_len)
{
	/* pos and pending are where the last call stopped: a header not whole yet, or a payload
	 * that ran past len; the bytes before pos are not walked again */
	if (!s->pending && !s->pos)
		s->pending = 1;
	while (s->pending) {
		if (s->pos >= len)
			return 0;
		size_t hdr;
		uint64_t payload, objs;
		if (head_size(buf + s->pos, len - s->pos, &hdr, &payload, &objs) < 0)
			return -EPROTO;
		if (s->pos + hdr > len)
			return s->pos + hdr > cap ? -E2BIG : 0;
		uint64_t pos = s->pos + hdr;
		/* every object announced takes at least one byte: judge the sizes before waiting */
		if (payload > cap - pos || objs > cap - pos - payload ||
		    s->pending - 1 + objs > cap - pos - payload)
			return -E2BIG;
		s->pos = pos + payload;
		s->pending = s->pending - 1 + objs;
	}
	if (s->pos > len)
		return 0;
	*obj_len = (size_t)s->pos;
	*s = (struct forward_scan){ 0 };
	return 1;
}

int forward_reply_scan(const uint8_t *buf, size_t len, size_t cap, size_t *obj_len)
{
	struct forward_scan s = { 0 };
	return forward_reply_scan_more(&s, buf, len, cap, obj_len);
}
