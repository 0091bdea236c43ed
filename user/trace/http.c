// SPDX-License-Identifier: GPL-2.0
/* OTLP/HTTP transport: POST the request as application/x-protobuf through the agent's libcurl
 * multi fetcher (appmetrics/fetch.h), so the loop never waits on the collector. */
#include "internal.h"

#include "appmetrics/fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_tp {
	struct transport tp;
	struct fetcher *fx;
	char *url;
	unsigned timeout_ms;
	struct otlp_export_opts opts;
	char *lines[OTLP_MAX_HEADERS + 1]; /* "Name: value" of opts.headers (+ Content-Encoding) */
	size_t nlines;
	struct otlp_gzip gz;
	export_done_fn done;
	void *arg;
};

void otlp_http_result(const struct fetch_result *r, struct export_result *out)
{
	struct export_result res = { .retry_after_ms = -1 };
	res.outcome = otlp_http_outcome(r->ok, r->status);
	if (!r->ok) {
		snprintf(res.detail, sizeof(res.detail), "%s", r->error ? r->error : "transfer failed");
	} else {
		snprintf(res.detail, sizeof(res.detail), "HTTP %ld", r->status);
		/* libcurl passes any delay through (or a far date): * 1000 must not overflow */
		if (r->retry_after_s >= 0 && (r->status == 429 || r->status == 503))
			res.retry_after_ms = r->retry_after_s > RETRY_AFTER_MAX_MS / 1000
				? RETRY_AFTER_MAX_MS
				: r->retry_after_s * 1000;
	}
	if (res.outcome == EXPORT_OK && r->body && r->body->len) {
		char msg[120];
		if (otlp_decode_response((const uint8_t *)r->body->buf, r->body->len, &res.rejected, msg,
					 sizeof(msg)) == 0 &&
		    res.rejected)
			snprintf(res.detail, sizeof(res.detail), "partial success: %lld rejected: %s",
				 (long long)res.rejected, msg);
	} else if (res.outcome != EXPORT_OK && r->ok && r->body && r->body->len) {
		/* The collector's reason (a google.rpc.Status, or text): keep its printable start. */
		size_t l = strlen(res.detail), i;
		const char *b = r->body->buf;
		if (l + 3 < sizeof(res.detail)) {
			memcpy(res.detail + l, ": ", 2);
			l += 2;
			for (i = 0; i < r->body->len && l + 1 < sizeof(res.detail) && b[i] != '\n'; i++)
				if (b[i] >= 0x20 && b[i] < 0x7f)
					res.detail[l++] = b[i];
			res.detail[l] = '\0';
		}
	}
	*out = res;
}

static void http_done(void *arg, const struct fetch_result *r)
{
	struct http_tp *h = arg;
	struct export_result res;
	otlp_http_result(r, &res);
	export_done_fn done = h->done;
	h->done = NULL;
	done(h->arg, &res);
}

static int http_send(struct transport *t, const uint8_t *buf, size_t len, export_done_fn done, void *arg)
{
	struct http_tp *h = (struct http_tp *)t;
	if (h->opts.gzip && otlp_gzip(&h->gz, buf, len, &buf, &len) < 0)
		return -ENOMEM;
	struct fetch_req req = {
		.method = "POST",
		.url = h->url,
		.content_type = "application/x-protobuf",
		.body = (const char *)buf,
		.body_len = len,
		/* the tracer's encoder (or gzip) buffer: untouched until done, as one request is in
		 * flight at a time and the tracer frees the transport before the buffers */
		.body_kept = true,
		.timeout_ms = h->timeout_ms,
		.max_bytes = 64 * 1024,
		.headers = (const char *const *)h->lines,
		.nheaders = h->nlines,
		.ca_file = h->opts.ca_file,
		.client_cert = h->opts.client_cert,
		.client_key = h->opts.client_key,
	};
	h->done = done;
	h->arg = arg;
	int rc = fetch_start(h->fx, &req, http_done, h);
	if (rc < 0)
		h->done = NULL;
	return rc;
}

static void http_free(struct transport *t)
{
	struct http_tp *h = (struct http_tp *)t;
	fetcher_free(h->fx);
	free(h->url);
	for (size_t i = 0; i < h->nlines; i++)
		free(h->lines[i]);
	otlp_gzip_free(&h->gz);
	free(h);
}

struct transport *otlp_http_new(struct loop *l, const char *url, unsigned timeout_ms,
				const struct otlp_export_opts *o)
{
	struct http_tp *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->tp.send = http_send;
	h->tp.free = http_free;
	h->timeout_ms = timeout_ms;
	h->opts = *o;
	for (unsigned i = 0; i < o->nheaders; i++)
		if (asprintf(&h->lines[h->nlines++], "%s: %s", o->headers[i].name, o->headers[i].value) < 0) {
			h->lines[--h->nlines] = NULL;
			goto fail;
		}
	if (o->gzip && !(h->lines[h->nlines++] = strdup("Content-Encoding: gzip")))
		goto fail;
	if (!(h->url = strdup(url)) || !(h->fx = fetcher_new(l)))
		goto fail;
	return &h->tp;
fail:
	http_free(&h->tp);
	return NULL;
}
