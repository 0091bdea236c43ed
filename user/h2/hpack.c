// SPDX-License-Identifier: GPL-2.0
/* Header blocks decoded with nghttp2's HPACK inflater (RFC 7541), one per connection and
 * direction: every block of a direction must go through it in order, whether or not its fields
 * interest us, because each may change the dynamic table the next ones refer to. */
#include "internal.h"

#include <obsbpf/trace_parse.h>

#include <stdio.h>
#include <string.h>

void h2_hpack_table_size(struct h2_dir *d, uint32_t size, uint32_t limit)
{
	d->table_max = size < limit ? size : limit;
	if (d->inf)
		nghttp2_hd_inflate_change_table_size(d->inf, d->table_max);
}

static bool is(const nghttp2_nv *nv, const char *name)
{
	size_t n = strlen(name);
	return nv->namelen == n && !memcmp(nv->name, name, n);
}

static void copy(char *out, size_t cap, const nghttp2_nv *nv)
{
	size_t n = nv->valuelen < cap - 1 ? nv->valuelen : cap - 1;
	memcpy(out, nv->value, n);
	out[n] = '\0';
}

/* A decimal of up to 3 digits (":status", "grpc-status"), or -1. */
static int small_number(const nghttp2_nv *nv)
{
	if (!nv->valuelen || nv->valuelen > 3)
		return -1;
	int v = 0;
	for (size_t i = 0; i < nv->valuelen; i++) {
		if (nv->value[i] < '0' || nv->value[i] > '9')
			return -1;
		v = v * 10 + (nv->value[i] - '0');
	}
	return v;
}

static void field(struct h2_fields *f, const nghttp2_nv *nv)
{
	if (nv->namelen && nv->name[0] == ':') {
		if (is(nv, ":method"))
			copy(f->method, sizeof(f->method), nv);
		else if (is(nv, ":path"))
			copy(f->path, sizeof(f->path), nv);
		else if (is(nv, ":authority"))
			copy(f->authority, sizeof(f->authority), nv);
		else if (is(nv, ":status")) {
			int s = small_number(nv);
			f->status = s >= 100 ? (uint16_t)s : 0;
		}
		return;
	}
	if (is(nv, "content-type")) {
		/* gRPC: "application/grpc" and its "+proto", "+json", ";charset" variants. */
		f->grpc = nv->valuelen >= 16 && !memcmp(nv->value, "application/grpc", 16) &&
			(nv->valuelen == 16 || nv->value[16] == '+' || nv->value[16] == ';');
	} else if (is(nv, "grpc-status")) {
		int s = small_number(nv);
		f->grpc_status = (int16_t)(s >= 0 && s <= 99 ? s : 2 /* UNKNOWN */);
	} else if (is(nv, "grpc-message")) {
		copy(f->grpc_message, sizeof(f->grpc_message), nv);
	} else if (is(nv, "traceparent") && !f->has_traceparent) {
		/* W3C: the first valid one counts (an invalid one is as if absent). */
		f->has_traceparent =
			obsbpf_parse_traceparent(nv->value, (uint32_t)nv->valuelen, &f->parent) == 0;
	}
}

int h2_hpack_decode(struct h2_dir *d, const uint8_t *b, size_t len, struct h2_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->grpc_status = -1;
	if (!d->inf) {
		if (nghttp2_hd_inflate_new(&d->inf) != 0)
			return -1;
		nghttp2_hd_inflate_change_table_size(d->inf, d->table_max);
	}
	static const uint8_t empty[1];
	const uint8_t *in = len ? b : empty; /* an empty block: no buffer behind it */
	size_t left = len;
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(d->inf, &nv, &flags, in, left, 1);
		if (rv < 0)
			return -1;
		in += rv;
		left -= (size_t)rv;
		if (flags & NGHTTP2_HD_INFLATE_EMIT)
			field(f, &nv);
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->inf);
			return 0;
		}
		if (rv == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT))
			return -1; /* no progress: cannot happen with in_final set, but never spin */
	}
}
