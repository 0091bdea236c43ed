// SPDX-License-Identifier: GPL-2.0
/* What an OTLP/gRPC collector answers (trace/grpc.c): its headers, trailers (grpc-status,
 * percent-encoded grpc-message, grpc-status-details-bin with a google.rpc.RetryInfo) and the
 * length-prefixed ExportTraceServiceResponse. The callbacks are static: this file includes
 * grpc.c, and so defines its symbols instead of the archive's copy. First byte, bit 0:
 *   0: the rest is "name:value" header lines, a blank line, then the DATA bytes, handed to
 *      the nghttp2 callbacks as nghttp2 would (values NUL-terminated); bits 1-4: the stream's
 *      RST error code, 0 for a normal close;
 *   1: the rest is the server's HTTP/2 byte stream, read by a real nghttp2 client session
 *      that sent one Export request. */
#include "trace/grpc.c"

#include "fuzz.h"

static struct export_result got;
static unsigned calls;

static void done(void *arg, const struct export_result *r)
{
	(void)arg;
	got = *r;
	calls++;
}

static void check(const struct export_result *r)
{
	FUZZ_CHECK(r->outcome == EXPORT_OK || r->outcome == EXPORT_RETRY || r->outcome == EXPORT_FAIL);
	FUZZ_CHECK(memchr(r->detail, '\0', sizeof(r->detail)));
	FUZZ_CHECK(r->retry_after_ms >= -1 && r->retry_after_ms <= RETRY_AFTER_MAX_MS);
}

static void callbacks(struct grpc_tp *g, const uint8_t *p, size_t n, uint32_t rst)
{
	const nghttp2_frame f = { .hd = { .stream_id = g->stream } };
	const uint8_t *end = p + n;
	while (p < end && *p != '\n') {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *le = nl ? nl : end;
		const uint8_t *colon = memchr(p, ':', (size_t)(le - p));
		if (colon == p && le - p > 1) /* ":status:200": a pseudo-header's own colon */
			colon = memchr(p + 1, ':', (size_t)(le - p - 1));
		const uint8_t *v = colon ? colon + 1 : le;
		size_t vlen = (size_t)(le - v);
		uint8_t *val = malloc(vlen + 1); /* nghttp2 NUL-terminates names and values */
		FUZZ_CHECK(val);
		memcpy(val, v, vlen);
		val[vlen] = '\0';
		on_header(NULL, &f, p, (size_t)((colon ? colon : le) - p), val, vlen, 0, g);
		free(val);
		p = nl ? nl + 1 : end;
	}
	if (p < end)
		p++;			     /* the blank line */
	size_t half = (size_t)(end - p) / 2; /* two DATA frames */
	on_data(NULL, 0, g->stream, p, half, g);
	on_data(NULL, 0, g->stream, p + half, (size_t)(end - p) - half, g);
	on_close(NULL, g->stream, rst, g);
}

static void session(struct grpc_tp *g, const uint8_t *p, size_t n)
{
	const uint8_t *out;
	FUZZ_CHECK(session_open(g) == 0);
	static const uint8_t req[] = { 0x0a, 0x00 }; /* an ExportTraceServiceRequest */
	memcpy(g->prefix, "\0\0\0\0\2", 5);
	g->msg = req; /* the tracer's buffer, in the agent */
	g->body_len = 5 + sizeof(req);
	FUZZ_CHECK(submit(g) == 0);
	while (nghttp2_session_mem_send(g->sess, &out) > 0) /* the preface and request: not read */
		;
	if (nghttp2_session_mem_recv(g->sess, p, n) < 0) {
		conn_fail(g, "http/2", EPROTO);
		return;
	}
	while (g->sess && nghttp2_session_mem_send(g->sess, &out) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	struct grpc_tp *g = calloc(1, sizeof(*g));
	FUZZ_CHECK(g);
	g->fd = -1;
	g->stream = -1;
	g->timeout_ms = 10000;
	snprintf(g->authority, sizeof(g->authority), "collector:4317");
	g->done = done;
	calls = 0;
	if (data[0] & 1) {
		session(g, data + 1, size - 1);
	} else {
		/* as submit() leaves them */
		g->stream = 1;
		g->grpc_status = -1;
		callbacks(g, data + 1, size - 1, (data[0] >> 1) & 15);
		FUZZ_CHECK(g->finished);
	}
	bool finished = g->finished;
	deliver(g);
	FUZZ_CHECK(calls == (finished ? 1u : 0u));
	if (calls)
		check(&got);
	conn_close(g);
	free(g->resp);
	free(g);
	return 0;
}
