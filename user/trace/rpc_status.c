// SPDX-License-Identifier: GPL-2.0
/* RetryInfo from gRPC's grpc-status-details-bin trailer (protobuf-c code generated from
 * proto/rpc_status.proto, base64 from nettle). */
#include "internal.h"

#include "rpc_status.pb-c.h"

#include <nettle/base64.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_INFO_TYPE "type.googleapis.com/google.rpc.RetryInfo"

long grpc_retry_info_ms(const char *b64, size_t len)
{
	/* -bin trailers may come without padding (gRPC over HTTP/2): pad before decoding. */
	char *in = malloc(len + 4);
	uint8_t *bin = malloc(BASE64_DECODE_LENGTH(len + 4));
	long ms = -1;
	if (!in || !bin || !len)
		goto out;
	memcpy(in, b64, len);
	while (len % 4)
		in[len++] = '=';
	struct base64_decode_ctx ctx;
	size_t n = BASE64_DECODE_LENGTH(len);
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, bin, len, in) || !base64_decode_final(&ctx))
		goto out;
	Rpc__Status *st = rpc__status__unpack(NULL, n, bin);
	if (!st)
		goto out;
	for (size_t i = 0; i < st->n_details && ms < 0; i++) {
		const Rpc__Any *d = st->details[i];
		if (strcmp(d->type_url, RETRY_INFO_TYPE))
			continue;
		Rpc__RetryInfo *ri = rpc__retry_info__unpack(NULL, d->value.len, d->value.data);
		if (ri && ri->retry_delay && ri->retry_delay->seconds >= 0 && ri->retry_delay->nanos >= 0) {
			/* seconds is any int64 the server sends: cap it before * 1000 overflows */
			int64_t sec = ri->retry_delay->seconds;
			int64_t v = sec > RETRY_AFTER_MAX_MS / 1000
				? RETRY_AFTER_MAX_MS
				: sec * 1000 + ri->retry_delay->nanos / 1000000;
			ms = v > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : (long)v;
		}
		if (ri)
			rpc__retry_info__free_unpacked(ri, NULL);
	}
	rpc__status__free_unpacked(st, NULL);
out:
	free(in);
	free(bin);
	return ms;
}
