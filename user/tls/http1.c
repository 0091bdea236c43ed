// SPDX-License-Identifier: GPL-2.0
/* HTTP/1.x inside TLS, parsed with http-parser (one parser per direction): each request's
 * method, target, Host and traceparent, queued until its response's last byte (pipelining
 * keeps the order), which ends the exchange. Bytes a call moved beyond what was handed on are
 * fed as zeros: inside a body they only count, anywhere else the parser refuses them and the
 * direction waits for a call that starts a message. */
#include "internal.h"

#include <obsbpf/trace_parse.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const uint8_t zeros[4096];

static struct tls_req *pend_front(struct tls_conn *c)
{
	return c->pend_count ? &c->pending[c->pend_head] : NULL;
}

static void pend_pop(struct tls_conn *c)
{
	c->pend_head = (c->pend_head + 1) % TLS_PENDING;
	c->pend_count--;
}

static void append(char *dst, size_t cap, const char *src, size_t n)
{
	size_t have = strlen(dst);
	if (have + 1 >= cap)
		return;
	if (n > cap - 1 - have)
		n = cap - 1 - have;
	memcpy(dst + have, src, n);
	dst[have + n] = 0;
}

/* A header is whole (name and value): the ones a request's exchange keeps. */
static void header_done(struct tls_conn *c, struct tls_h1_dir *d)
{
	d->in_value = false;
	if (d->field_len >= TLS_FIELD_LEN || d->value_len >= TLS_VALUE_LEN || d != &c->h1[1])
		goto next;
	d->field[d->field_len] = 0;
	d->value[d->value_len] = 0;
	if (!strcasecmp(d->field, "host"))
		memcpy(c->cur.authority, d->value, d->value_len + 1);
	else if (!strcasecmp(d->field, "traceparent") && !c->cur.has_traceparent)
		c->cur.has_traceparent = obsbpf_parse_traceparent((const __u8 *)d->value, (__u32)d->value_len,
								  &c->cur.parent) == 0;
next:
	d->field_len = 0;
	d->value_len = 0;
}

static int on_field(http_parser *p, const char *at, size_t n)
{
	struct tls_conn *c = p->data;
	struct tls_h1_dir *d = (struct tls_h1_dir *)p;
	if (d->in_value)
		header_done(c, d);
	if (d->field_len + n < TLS_FIELD_LEN)
		memcpy(d->field + d->field_len, at, n);
	d->field_len += n;
	return 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
	struct tls_h1_dir *d = (struct tls_h1_dir *)p;
	d->in_value = true;
	if (d->value_len + n < TLS_VALUE_LEN)
		memcpy(d->value + d->value_len, at, n);
	d->value_len += n;
	return 0;
}

static int on_begin(http_parser *p)
{
	struct tls_conn *c = p->data;
	struct tls_h1_dir *d = (struct tls_h1_dir *)p;
	d->in_head = true;
	d->in_value = false;
	d->field_len = d->value_len = 0;
	if (d == &c->h1[1]) {
		memset(&c->cur, 0, sizeof(c->cur));
		c->cur.start_ns = c->t->ev ? tls_call_ts(c, c->t->ev) : c->last_ns;
	} else {
		c->status = 0;
		c->resp_begun = true;
	}
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct tls_conn *c = p->data;
	const struct obsbpf_tls_event *e = c->t->ev;
	/* The kernel gave a span context to the request its call's bytes start with. */
	if (e && !c->cur.path[0] && (const uint8_t *)at - e->data < 24)
		c->cur.kernel = e->trace;
	append(c->cur.path, sizeof(c->cur.path), at, n);
	return 0;
}

static int on_req_headers(http_parser *p)
{
	struct tls_conn *c = p->data;
	struct tls_h1_dir *d = &c->h1[1];
	if (d->in_value)
		header_done(c, d);
	d->in_head = false;
	struct tls_req *r = &c->cur;
	snprintf(r->method, sizeof(r->method), "%s", http_method_str((enum http_method)p->method));
	r->minor = (uint8_t)p->http_minor;
	r->head = p->method == HTTP_HEAD;
	r->connect = p->method == HTTP_CONNECT;
	if (p->upgrade && !r->connect)
		c->upgrade = true;
	if (c->pend_count == TLS_PENDING) {
		pend_pop(c); /* more in flight than kept: the oldest is not measured */
		c->t->st.dropped[TLS_DROP_HTTP1]++;
	}
	c->pending[(c->pend_head + c->pend_count++) % TLS_PENDING] = *r;
	return 0;
}

static int on_resp_headers(http_parser *p)
{
	struct tls_conn *c = p->data;
	struct tls_h1_dir *d = &c->h1[0];
	if (d->in_value)
		header_done(c, d);
	d->in_head = false;
	c->status = (uint16_t)p->status_code;
	struct tls_req *r = pend_front(c);
	/* 1: no body follows (a HEAD's response, or a tunnel's start). */
	return r && (r->head || (r->connect && c->status / 100 == 2)) ? 1 : 0;
}

/* status: the response's, or enum obsbpf_no_response. */
static void emit(struct tls_tracker *t, struct tls_conn *c, const struct tls_req *r, uint16_t status,
		 uint64_t end_ns)
{
	struct h2_exchange x = {
		.start_ns = r->start_ns,
		.end_ns = end_ns > r->start_ns ? end_ns : r->start_ns, /* a read returned after the close */
		.conn = c->id,
		.pod_id = c->pod_id,
		.dir = c->role,
		.has_addrs = c->tied,
		.tls = true,
		.version = 1,
		.minor = r->minor,
		.status = status,
		.grpc_status = -1,
		.has_traceparent = r->has_traceparent,
		.parent = r->parent,
		.kernel = r->kernel,
		.addrs = c->sock.addrs,
	};
	memcpy(x.method, r->method, sizeof(x.method));
	memcpy(x.path, r->path, sizeof(x.path));
	memcpy(x.authority, r->authority, sizeof(x.authority));
	t->st.exchanges++;
	if (!c->tied)
		t->st.untied++;
	t->fn(t->arg, &x);
}

static int on_resp_complete(http_parser *p)
{
	struct tls_conn *c = p->data;
	c->resp_begun = false;
	if (c->status >= 100 && c->status < 200 && c->status != 101)
		return 0; /* informational: the final response follows */
	struct tls_req *r = pend_front(c);
	if (!r)
		return 0;
	struct tls_req done = *r;
	pend_pop(c);
	emit(c->t, c, &done, c->status, c->t->ev ? c->t->ev->ts_ns : c->last_ns);
	/* A protocol switch or a tunnel: what follows is not HTTP/1. */
	if (c->status == 101 || (done.connect && c->status / 100 == 2)) {
		c->kind = TLS_KIND_OTHER;
		return 1;
	}
	if (done.connect) /* refused: the requests continue after it */
		http_parser_init(&c->h1[1].p, HTTP_REQUEST);
	return 0;
}

static const http_parser_settings req_settings = {
	.on_message_begin = on_begin,
	.on_url = on_url,
	.on_header_field = on_field,
	.on_header_value = on_value,
	.on_headers_complete = on_req_headers,
};

static const http_parser_settings resp_settings = {
	.on_message_begin = on_begin,
	.on_header_field = on_field,
	.on_header_value = on_value,
	.on_headers_complete = on_resp_headers,
	.on_message_complete = on_resp_complete,
};

static void dir_init(struct tls_conn *c, bool req)
{
	struct tls_h1_dir *d = &c->h1[req];
	memset(d, 0, sizeof(*d));
	http_parser_init(&d->p, req ? HTTP_REQUEST : HTTP_RESPONSE);
	d->p.data = c;
}

void tls_h1_init(struct tls_conn *c)
{
	dir_init(c, true);
	dir_init(c, false);
}

/* The direction's bytes were refused: what was waiting is not measured, and parsing resumes
 * at a call that starts a message. */
static void lose(struct tls_tracker *t, struct tls_conn *c, bool req)
{
	c->h1[req].lost = true;
	c->pend_count = 0;
	c->resp_begun = false;
	t->st.dropped[TLS_DROP_HTTP1]++;
}

static bool message_start(const struct tls_conn *c, const struct obsbpf_tls_event *e, bool req)
{
	if (!req)
		return c->pend_count && e->cap >= 7 && !memcmp(e->data, "HTTP/1.", 7);
	size_t i = 0;
	while (i < e->cap && i < 16 && e->data[i] >= 'A' && e->data[i] <= 'Z')
		i++;
	return i > 0 && i < e->cap && e->data[i] == ' ';
}

void tls_h1_feed(struct tls_tracker *t, struct tls_conn *c, const struct obsbpf_tls_event *e, bool req)
{
	struct tls_h1_dir *d = &c->h1[req];
	const http_parser_settings *s = req ? &req_settings : &resp_settings;
	if (d->lost) {
		if (!message_start(c, e, req))
			return;
		dir_init(c, req);
	}
	size_t n = http_parser_execute(&d->p, s, (const char *)e->data, e->cap);
	if (c->kind != TLS_KIND_HTTP1)
		return;
	if (d->p.upgrade) /* a CONNECT or Upgrade request: its response decides */
		return;
	if (n != e->cap || HTTP_PARSER_ERRNO(&d->p) != HPE_OK) {
		lose(t, c, req);
		return;
	}
	/* Bytes the call moved that were not handed on: a body's count them, a head's cannot. */
	for (size_t rest = e->len - e->cap; rest;) {
		if (d->in_head) {
			lose(t, c, req);
			return;
		}
		size_t k = rest < sizeof(zeros) ? rest : sizeof(zeros);
		n = http_parser_execute(&d->p, s, (const char *)zeros, k);
		if (c->kind != TLS_KIND_HTTP1 || d->p.upgrade)
			return;
		if (n != k || HTTP_PARSER_ERRNO(&d->p) != HPE_OK) {
			lose(t, c, req);
			return;
		}
		rest -= k;
	}
}

void tls_h1_close(struct tls_tracker *t, struct tls_conn *c)
{
	/* A response without a length ends with the connection. */
	struct tls_h1_dir *d = &c->h1[0];
	if (c->kind == TLS_KIND_HTTP1 && !d->lost && !d->in_head && c->pend_count)
		http_parser_execute(&d->p, &resp_settings, NULL, 0);
	/* The socket's close ended the rest: those whose response never began got none (the one
	 * whose response was cut short is not measured, as on HTTP/2). Past an Upgrade or CONNECT
	 * nothing was waiting for an HTTP/1 answer any more. */
	if (c->kind != TLS_KIND_HTTP1 || !c->close_reason)
		return;
	if (c->resp_begun && c->pend_count)
		pend_pop(c);
	while (c->pend_count) {
		struct tls_req r = *pend_front(c);
		pend_pop(c);
		emit(t, c, &r, c->close_reason, c->close_ns);
	}
}
