// SPDX-License-Identifier: GPL-2.0
/* The span exporter's pure parts: event -> span mapping, the OTLP encoding decoded back with
 * protobuf-c (the generated unpackers of the same wire schema), the response's partial
 * success, the retry policy and backoff, the bounded queue, and endpoint resolution. The
 * transports are tested against real OTLP receivers in tests/integration/test_trace_export.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "otlp_trace.pb-c.h"
#include "rpc_status.pb-c.h"

#include <nettle/base64.h>
#include "appmetrics/fetch.h"
#include "trace/internal.h"
#include "h2/grpc_status.h"
#include "h2/h2.h"

static struct obsbpf_http_event server_event(void)
{
	struct obsbpf_http_event e = { 0 };
	e.start_ns = 1000;
	e.end_ns = 251000;
	e.dir = OBSBPF_DIR_SERVER;
	e.method = OBSBPF_M_GET;
	e.status = 200;
	e.tid = 4242;
	e.addrs.family = AF_INET;
	e.addrs.local_port = 8080;
	e.addrs.remote_port = 51000;
	inet_pton(AF_INET, "10.0.0.2", e.addrs.local);
	inet_pton(AF_INET, "10.0.0.9", e.addrs.remote);
	for (int i = 0; i < 16; i++)
		e.trace.trace_id[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 8; i++)
		e.trace.span_id[i] = (uint8_t)(0x10 + i);
	e.trace.flags = OBSBPF_TRACE_SAMPLED;
	e.trace.origin = OBSBPF_TO_NEW;
	return e;
}

static void test_span_from_event(void **state)
{
	(void)state;
	struct obsbpf_http_event e = server_event();
	struct span s;
	assert_true(span_from_event(&s, &e, "/users/:id", 5000000000ll, 3));
	assert_memory_equal(s.trace_id, e.trace.trace_id, 16);
	assert_memory_equal(s.span_id, e.trace.span_id, 8);
	assert_int_equal(s.start_unix_ns, 5000001000ull);
	assert_int_equal(s.end_unix_ns, 5000251000ull);
	assert_int_equal(s.res, 3);
	assert_int_equal(s.tid, 4242);
	assert_string_equal(s.route, "/users/:id");

	char name[128];
	span_name(&s, name, sizeof(name));
	assert_string_equal(name, "GET /users/:id");
	span_from_event(&s, &e, NULL, 0, 0);
	span_name(&s, name, sizeof(name));
	assert_string_equal(name, "GET");
	e.method = OBSBPF_M_OTHER;
	span_from_event(&s, &e, "/x", 0, 0);
	span_name(&s, name, sizeof(name));
	assert_string_equal(name, "HTTP /x");
	/* A short buffer truncates as snprintf would, always terminated. */
	span_name(&s, name, 6);
	assert_string_equal(name, "HTTP ");
	span_name(&s, name, 3);
	assert_string_equal(name, "HT");
	name[0] = 'z';
	span_name(&s, name, 0);
	assert_int_equal(name[0], 'z');

	/* An end before the start (should not happen) does not make a negative duration. */
	e.end_ns = 10;
	span_from_event(&s, &e, NULL, 0, 0);
	assert_int_equal(s.end_unix_ns, s.start_unix_ns);

	/* http.route belongs to server spans only. */
	e.dir = OBSBPF_DIR_CLIENT;
	e.method = OBSBPF_M_GET;
	span_from_event(&s, &e, "/users/:id", 0, 0);
	assert_string_equal(s.route, "");
	span_name(&s, name, sizeof(name));
	assert_string_equal(name, "GET");

	e.trace.origin = OBSBPF_TO_NONE;
	assert_false(span_from_event(&s, &e, NULL, 0, 0));
}

static void test_span_error_status(void **state)
{
	(void)state;
	struct obsbpf_http_event e = server_event();
	struct span s;
	static const struct {
		uint8_t dir;
		uint16_t status;
		bool err;
	} cases[] = {
		{ OBSBPF_DIR_SERVER, 200, false },
		{ OBSBPF_DIR_SERVER, 404, false },
		{ OBSBPF_DIR_SERVER, 499, false },
		{ OBSBPF_DIR_SERVER, 500, true },
		{ OBSBPF_DIR_SERVER, 503, true },
		{ OBSBPF_DIR_CLIENT, 200, false },
		{ OBSBPF_DIR_CLIENT, 399, false },
		{ OBSBPF_DIR_CLIENT, 400, true },
		{ OBSBPF_DIR_CLIENT, 404, true },
		{ OBSBPF_DIR_CLIENT, 502, true },
		/* no response at all: an error on either side */
		{ OBSBPF_DIR_SERVER, OBSBPF_STATUS_CONN_CLOSED, true },
		{ OBSBPF_DIR_CLIENT, OBSBPF_STATUS_TIMEOUT, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e.dir = cases[i].dir;
		e.status = cases[i].status;
		span_from_event(&s, &e, NULL, 0, 0);
		assert_int_equal(span_is_error(&s), cases[i].err);
	}
}

static const Otlp__AnyValue *attr(const Otlp__KeyValue *const *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i]->key, key))
			return kv[i]->value;
	return NULL;
}

static const char *attr_str(const Otlp__Span *s, const char *key)
{
	const Otlp__AnyValue *v = attr((const Otlp__KeyValue *const *)s->attributes, s->n_attributes, key);
	return v && v->value_case == OTLP__ANY_VALUE__VALUE_STRING_VALUE ? v->string_value : NULL;
}

static int64_t attr_int(const Otlp__Span *s, const char *key)
{
	const Otlp__AnyValue *v = attr((const Otlp__KeyValue *const *)s->attributes, s->n_attributes, key);
	return v && v->value_case == OTLP__ANY_VALUE__VALUE_INT_VALUE ? v->int_value : -1;
}

/* The request decoded, after checking that protobuf-c packs what it decoded to the very bytes
 * the encoder wrote: spans are written by hand, and must be what protobuf-c would write. */
static Otlp__ExportTraceServiceRequest *unpack_canonical(const uint8_t *buf, size_t len)
{
	Otlp__ExportTraceServiceRequest *r = otlp__export_trace_service_request__unpack(NULL, len, buf);
	assert_non_null(r);
	size_t n = otlp__export_trace_service_request__get_packed_size(r);
	assert_int_equal(n, len);
	uint8_t *again = malloc(n);
	assert_non_null(again);
	otlp__export_trace_service_request__pack(r, again);
	assert_memory_equal(again, buf, len);
	free(again);
	return r;
}

/* The hand-written Span encoding at its edges: lengths that take two varint bytes, a negative
 * int (ten bytes), a zero start time and zero flags (left out), a query, every attribute kind. */
static void test_encode_canonical(void **state)
{
	(void)state;
	struct obsbpf_http_event e = server_event();
	struct span sp[4];
	char route[OBSBPF_ROUTE_LEN + 1];
	memset(route, 'r', sizeof(route) - 1);
	route[0] = '/';
	route[sizeof(route) - 1] = '\0';
	e.start_ns = 0;
	e.tid = 0xfffffff0u;
	span_from_event(&sp[0], &e, route, 0, 0);
	e.trace.flags = 0;
	e.dir = OBSBPF_DIR_CLIENT;
	e.status = 503;
	span_from_event(&sp[1], &e, NULL, 0, 0);
	sp[1].flags = 0;
	struct h2_exchange x = { .dir = OBSBPF_DIR_CLIENT,
				 .status = 200,
				 .grpc_status = -1,
				 .method = "POST",
				 .version = 2,
				 .tls = true };
	memset(x.path, 'p', 200);
	x.path[0] = '/';
	x.path[100] = '?';
	snprintf(x.authority, sizeof(x.authority), "api.shop:8443");
	struct obsbpf_trace tr = {
		.trace_id = { 1 }, .span_id = { 2 }, .parent_id = { 3 }, .flags = 1, .origin = OBSBPF_TO_NEW
	};
	span_from_exchange(&sp[2], &x, &tr, NULL, 0);
	snprintf(x.path, sizeof(x.path), "/a.B/C");
	x.grpc = true;
	span_from_exchange(&sp[3], &x, &tr, NULL, 0);
	sp[3].grpc_status = -1; /* not a code gRPC defines: an int64 of ten varint bytes */
	const struct span *v[4] = { &sp[0], &sp[1], &sp[2], &sp[3] };
	struct span_resource res = { "cart", "cart-1", "shop", "n" };
	struct otlp_scratch sc = { 0 };
	const uint8_t *buf;
	size_t len;
	span_set_url_query_keep(true);
	assert_int_equal(otlp_encode(&sc, v, 4, &res, 1, &buf, &len), 0);
	span_set_url_query_keep(false);
	Otlp__ExportTraceServiceRequest *r = unpack_canonical(buf, len);
	otlp_scratch_free(&sc);
	Otlp__Span **s = r->resource_spans[0]->scope_spans[0]->spans;
	assert_int_equal(s[0]->start_time_unix_nano, 0);
	assert_int_equal(strlen(attr_str(s[0], "http.route")), OBSBPF_ROUTE_LEN);
	assert_int_equal(attr_int(s[0], "thread.id"), 0xfffffff0u);
	assert_int_equal(s[1]->flags, 0);
	assert_non_null(s[1]->status);
	assert_int_equal(strlen(attr_str(s[2], "url.full")), strlen("https://api.shop:8443") + 200);
	assert_int_equal(s[2]->parent_span_id.len, 8);
	assert_int_equal(attr_int(s[3], "rpc.grpc.status_code"), -1);
	otlp__export_trace_service_request__free_unpacked(r, NULL);
}

static void test_encode_roundtrip(void **state)
{
	(void)state;
	struct span sp[3];
	struct obsbpf_http_event e = server_event();
	span_from_event(&sp[0], &e, "/users/:id", 0, 0); /* server span, root, pod a */
	e.dir = OBSBPF_DIR_CLIENT;
	e.method = OBSBPF_M_POST;
	e.status = 404;
	e.addrs.family = AF_INET6;
	e.addrs.local_port = 40000;
	e.addrs.remote_port = 9000;
	/* IPv4-mapped peer of a dual-stack socket, and a real IPv6 local address */
	memset(e.addrs.remote, 0, 16);
	e.addrs.remote[10] = e.addrs.remote[11] = 0xff;
	inet_pton(AF_INET, "10.0.0.7", e.addrs.remote + 12);
	inet_pton(AF_INET6, "fd00::2", e.addrs.local);
	memset(e.trace.parent_id, 0x77, 8);
	e.trace.span_id[7] = 0x99;
	e.http10 = 1;
	span_from_event(&sp[1], &e, NULL, 0, 1); /* client span, child, pod b */
	e.http10 = 0;
	e.status = 200;
	e.trace.span_id[7] = 0x9a;
	span_from_event(&sp[2], &e, NULL, 0, 0); /* pod a again */
	const struct span *v[3] = { &sp[0], &sp[1], &sp[2] };
	struct span_resource res[2] = {
		{ "checkout", "web-1", "shop", "node-a" },
		{ NULL, "api-7", "shop", "node-b" }, /* no service name: the pod's workload */
	};
	struct otlp_scratch sc = { 0 };
	const uint8_t *buf;
	size_t len;
	assert_int_equal(otlp_encode(&sc, v, 3, res, 2, &buf, &len), 0);
	Otlp__ExportTraceServiceRequest *r = unpack_canonical(buf, len);
	otlp_scratch_free(&sc);
	assert_non_null(r);
	assert_int_equal(r->n_resource_spans, 2); /* one per pod */

	Otlp__ResourceSpans *ra = r->resource_spans[0], *rb = r->resource_spans[1];
	const Otlp__KeyValue *const *rk = (const Otlp__KeyValue *const *)ra->resource->attributes;
	assert_string_equal(attr(rk, ra->resource->n_attributes, "service.name")->string_value, "checkout");
	assert_string_equal(attr(rk, ra->resource->n_attributes, "k8s.pod.name")->string_value, "web-1");
	assert_string_equal(attr(rk, ra->resource->n_attributes, "k8s.namespace.name")->string_value, "shop");
	assert_string_equal(attr(rk, ra->resource->n_attributes, "k8s.node.name")->string_value, "node-a");
	assert_string_equal(attr(rk, ra->resource->n_attributes, "telemetry.sdk.name")->string_value,
			    "obsbpf");
	rk = (const Otlp__KeyValue *const *)rb->resource->attributes;
	assert_string_equal(attr(rk, ra->resource->n_attributes, "telemetry.sdk.language")->string_value,
			    "c");
	assert_non_null(attr(rk, ra->resource->n_attributes, "telemetry.sdk.version"));
	rk = (const Otlp__KeyValue *const *)rb->resource->attributes;
	/* a StatefulSet's pod api-7: the workload api */
	assert_string_equal(attr(rk, rb->resource->n_attributes, "service.name")->string_value, "api");
	assert_int_equal(ra->n_scope_spans, 1);
	assert_string_equal(ra->scope_spans[0]->scope->name, "obsbpf");
	assert_int_equal(ra->scope_spans[0]->n_spans, 2);
	assert_int_equal(rb->scope_spans[0]->n_spans, 1);

	const Otlp__Span *s = ra->scope_spans[0]->spans[0];
	assert_int_equal(s->trace_id.len, 16);
	assert_memory_equal(s->trace_id.data, sp[0].trace_id, 16);
	assert_int_equal(s->span_id.len, 8);
	assert_int_equal(s->parent_span_id.len, 0); /* a root: no parent on the wire */
	assert_int_equal(s->flags, 1);
	assert_string_equal(s->name, "GET /users/:id");
	assert_int_equal(s->kind, OTLP__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
	assert_int_equal(s->start_time_unix_nano, 1000);
	assert_int_equal(s->end_time_unix_nano, 251000);
	assert_null(s->status); /* UNSET */
	assert_string_equal(attr_str(s, "http.request.method"), "GET");
	assert_string_equal(attr_str(s, "http.route"), "/users/:id");
	assert_int_equal(attr_int(s, "http.response.status_code"), 200);
	assert_string_equal(attr_str(s, "server.address"), "10.0.0.2");
	assert_int_equal(attr_int(s, "server.port"), 8080);
	assert_string_equal(attr_str(s, "client.address"), "10.0.0.9");
	assert_string_equal(attr_str(s, "network.peer.address"), "10.0.0.9");
	assert_int_equal(attr_int(s, "network.peer.port"), 51000);
	assert_string_equal(attr_str(s, "network.protocol.version"), "1.1");
	assert_int_equal(attr_int(s, "thread.id"), 4242);
	assert_string_equal(attr_str(s, "url.scheme"), "http");
	assert_string_equal(attr_str(s, "url.path"), "/users/:id");
	assert_null(attr_str(s, "url.full")); /* client spans only */
	assert_null(attr_str(s, "error.type"));

	s = rb->scope_spans[0]->spans[0];
	assert_int_equal(s->kind, OTLP__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
	assert_int_equal(s->parent_span_id.len, 8);
	assert_memory_equal(s->parent_span_id.data, sp[1].parent_id, 8);
	assert_string_equal(s->name, "POST");
	assert_null(attr_str(s, "http.route"));
	assert_null(attr_str(s, "client.address")); /* server side only */
	assert_string_equal(attr_str(s, "server.address"), "10.0.0.7");
	assert_int_equal(attr_int(s, "server.port"), 9000);
	assert_non_null(s->status);
	assert_int_equal(s->status->code, OTLP__STATUS__STATUS_CODE__STATUS_CODE_ERROR); /* client 404 */
	assert_string_equal(attr_str(s, "error.type"), "404");
	assert_string_equal(attr_str(s, "url.full"), "http://10.0.0.7:9000/"); /* route unknown */
	assert_null(attr_str(s, "url.path"));
	assert_string_equal(attr_str(s, "network.protocol.version"), "1.0"); /* an HTTP/1.0 request */

	s = ra->scope_spans[0]->spans[1];
	assert_int_equal(s->span_id.data[7], 0x9a);
	assert_null(s->status);
	/* The same addresses as the span before, of another resource: formatted once, both right. */
	assert_string_equal(attr_str(s, "server.address"), "10.0.0.7");
	assert_string_equal(attr_str(s, "network.peer.address"), "10.0.0.7");
	otlp__export_trace_service_request__free_unpacked(r, NULL);
}

/* A request that got no response: ERROR, error.type says why, no http.response.status_code. */
static void test_no_response_span(void **state)
{
	(void)state;
	static const struct {
		uint8_t dir;
		uint16_t status;
		const char *type;
	} cases[] = {
		{ OBSBPF_DIR_CLIENT, OBSBPF_STATUS_TIMEOUT, "timeout" },
		{ OBSBPF_DIR_CLIENT, OBSBPF_STATUS_CONN_RESET, "connection_reset" },
		{ OBSBPF_DIR_SERVER, OBSBPF_STATUS_CONN_CLOSED, "connection_closed" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct obsbpf_http_event e = server_event();
		e.dir = cases[i].dir;
		e.status = cases[i].status;
		struct span sp;
		span_from_event(&sp, &e, "/users/:id", 0, 0);
		const struct span *v[1] = { &sp };
		struct span_resource res = { "checkout", "web-1", "shop", "node-a" };
		struct otlp_scratch sc = { 0 };
		const uint8_t *buf;
		size_t len;
		assert_int_equal(otlp_encode(&sc, v, 1, &res, 1, &buf, &len), 0);
		Otlp__ExportTraceServiceRequest *r =
			otlp__export_trace_service_request__unpack(NULL, len, buf);
		otlp_scratch_free(&sc);
		assert_non_null(r);
		const Otlp__Span *s = r->resource_spans[0]->scope_spans[0]->spans[0];
		assert_non_null(s->status);
		assert_int_equal(s->status->code, OTLP__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
		assert_string_equal(attr_str(s, "error.type"), cases[i].type);
		assert_int_equal(attr_int(s, "http.response.status_code"), -1);
		assert_string_equal(attr_str(s, "http.request.method"), "GET");
		otlp__export_trace_service_request__free_unpacked(r, NULL);
	}
}

/* HTTP/2 exchanges as spans: an HTTP/2 request (protocol version 2, its route) and gRPC calls
 * (rpc.* attributes, named service/method, status by the gRPC rules per side). */
static void test_exchange_spans(void **state)
{
	(void)state;
	struct h2_exchange x = { .start_ns = 1000,
				 .end_ns = 5000,
				 .dir = OBSBPF_DIR_SERVER,
				 .status = 200,
				 .grpc_status = -1,
				 .method = "PATCH",
				 .path = "/items/7?token=s3cret" };
	x.addrs.family = AF_INET;
	x.addrs.local_port = 8080;
	struct obsbpf_trace tr = { .trace_id = { 1 }, .span_id = { 2 }, .flags = 1, .origin = OBSBPF_TO_NEW };
	struct span sp[3];
	span_from_exchange(&sp[0], &x, &tr, "/items/:id", 100);
	assert_int_equal(sp[0].method, OBSBPF_M_PATCH);
	assert_int_equal(sp[0].start_unix_ns, 1100);
	x.grpc = true;
	snprintf(x.path, sizeof(x.path), "/shop.v1.Cart/Add");
	x.grpc_status = 14;
	span_from_exchange(&sp[1], &x, &tr, NULL, 0);
	x.dir = OBSBPF_DIR_CLIENT;
	x.grpc_status = 5;
	span_from_exchange(&sp[2], &x, &tr, NULL, 0);
	char name[200];
	span_name(&sp[1], name, sizeof(name));
	assert_string_equal(name, "shop.v1.Cart/Add");
	assert_true(span_is_error(&sp[1])); /* UNAVAILABLE: a server error */
	assert_true(span_is_error(&sp[2])); /* NOT_FOUND: a client error only */
	sp[2].dir = OBSBPF_DIR_SERVER;
	assert_false(span_is_error(&sp[2]));
	sp[2].dir = OBSBPF_DIR_CLIENT;
	char svc[32], m[16];
	assert_true(span_rpc_split("/a.B/C", svc, sizeof(svc), m, sizeof(m)));
	assert_string_equal(svc, "a.B");
	assert_string_equal(m, "C");
	assert_false(span_rpc_split("/nomethod", svc, sizeof(svc), m, sizeof(m)));
	assert_false(span_rpc_split("/a/b/c", svc, sizeof(svc), m, sizeof(m)));
	assert_false(span_rpc_split("//x", svc, sizeof(svc), m, sizeof(m)));

	const struct span *v[3] = { &sp[0], &sp[1], &sp[2] };
	struct span_resource res = { "cart", "cart-1", "shop", "n" };
	struct otlp_scratch sc = { 0 };
	const uint8_t *buf;
	size_t len;
	assert_int_equal(otlp_encode(&sc, v, 3, &res, 1, &buf, &len), 0);
	Otlp__ExportTraceServiceRequest *r = unpack_canonical(buf, len);
	otlp_scratch_free(&sc);
	assert_non_null(r);
	Otlp__Span **s = r->resource_spans[0]->scope_spans[0]->spans;
	assert_string_equal(s[0]->name, "PATCH /items/:id");
	assert_string_equal(attr_str(s[0], "network.protocol.version"), "2");
	assert_string_equal(attr_str(s[0], "http.route"), "/items/:id");
	assert_int_equal(attr_int(s[0], "thread.id"), -1); /* unknown for HTTP/2: not sent */
	assert_string_equal(attr_str(s[0], "url.path"), "/items/7");
	assert_null(attr_str(s[0], "url.query")); /* stripped by default */
	assert_string_equal(attr_str(s[1], "error.type"), "14");
	assert_string_equal(s[1]->name, "shop.v1.Cart/Add");
	assert_string_equal(attr_str(s[1], "rpc.system"), "grpc");
	assert_string_equal(attr_str(s[1], "rpc.service"), "shop.v1.Cart");
	assert_string_equal(attr_str(s[1], "rpc.method"), "Add");
	assert_int_equal(attr_int(s[1], "rpc.grpc.status_code"), 14);
	assert_null(attr_str(s[1], "http.request.method"));
	assert_int_equal(s[1]->status->code, OTLP__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
	assert_int_equal(s[2]->kind, OTLP__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
	assert_int_equal(attr_int(s[2], "rpc.grpc.status_code"), 5);
	otlp__export_trace_service_request__free_unpacked(r, NULL);
}

/* --url-query keep: url.query on server spans, the query in a client's url.full; the client's
 * :authority (or Host) names the server in url.full, else its address (IPv6 in brackets). */
static void test_url_attributes(void **state)
{
	(void)state;
	struct h2_exchange x = { .dir = OBSBPF_DIR_SERVER,
				 .status = 200,
				 .grpc_status = -1,
				 .method = "GET",
				 .path = "/search?q=1",
				 .version = 1,
				 .minor = 1,
				 .tls = true };
	struct obsbpf_trace tr = { .trace_id = { 1 }, .span_id = { 2 }, .flags = 1, .origin = OBSBPF_TO_NEW };
	struct span sp[3];
	span_from_exchange(&sp[0], &x, &tr, "/search", 0);
	x.dir = OBSBPF_DIR_CLIENT;
	snprintf(x.authority, sizeof(x.authority), "api.shop:8443");
	span_from_exchange(&sp[1], &x, &tr, NULL, 0);
	x.authority[0] = '\0';
	x.tls = false;
	x.addrs.family = AF_INET6;
	x.addrs.remote_port = 80;
	inet_pton(AF_INET6, "fd00::7", x.addrs.remote);
	span_from_exchange(&sp[2], &x, &tr, NULL, 0);
	const struct span *v[3] = { &sp[0], &sp[1], &sp[2] };
	struct span_resource res = { NULL, "web-7d4b9c8f6d-x2x9q", "shop", "n" };
	struct otlp_scratch sc = { 0 };
	const uint8_t *buf;
	size_t len;
	span_set_url_query_keep(true);
	assert_int_equal(otlp_encode(&sc, v, 3, &res, 1, &buf, &len), 0);
	span_set_url_query_keep(false);
	Otlp__ExportTraceServiceRequest *r = unpack_canonical(buf, len);
	otlp_scratch_free(&sc);
	assert_non_null(r);
	const Otlp__KeyValue *const *rk =
		(const Otlp__KeyValue *const *)r->resource_spans[0]->resource->attributes;
	assert_string_equal(
		attr(rk, r->resource_spans[0]->resource->n_attributes, "service.name")->string_value,
		"web"); /* a Deployment's pod */
	Otlp__Span **s = r->resource_spans[0]->scope_spans[0]->spans;
	assert_string_equal(attr_str(s[0], "url.path"), "/search");
	assert_string_equal(attr_str(s[0], "url.query"), "q=1");
	assert_string_equal(attr_str(s[0], "url.scheme"), "https");
	assert_string_equal(attr_str(s[1], "url.full"), "https://api.shop:8443/search?q=1");
	assert_string_equal(attr_str(s[2], "url.full"), "http://[fd00::7]:80/search?q=1");
	otlp__export_trace_service_request__free_unpacked(r, NULL);
}

static void test_decode_response(void **state)
{
	(void)state;
	int64_t rej = -1;
	char msg[64];
	assert_int_equal(otlp_decode_response(NULL, 0, &rej, msg, sizeof(msg)), 0);
	assert_int_equal(rej, 0);

	Otlp__ExportTracePartialSuccess ps = OTLP__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
	Otlp__ExportTraceServiceResponse resp = OTLP__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
	ps.rejected_spans = 7;
	ps.error_message = "too old";
	resp.partial_success = &ps;
	uint8_t buf[128];
	size_t n = otlp__export_trace_service_response__pack(&resp, buf);
	assert_int_equal(otlp_decode_response(buf, n, &rej, msg, sizeof(msg)), 0);
	assert_int_equal(rej, 7);
	assert_string_equal(msg, "too old");

	static const uint8_t garbage[] = { 0x0a, 0x7f, 0x01 }; /* a length past the end */
	assert_int_equal(otlp_decode_response(garbage, sizeof(garbage), &rej, msg, sizeof(msg)), -EBADMSG);
}

static void test_retry_policy(void **state)
{
	(void)state;
	assert_int_equal(otlp_http_outcome(false, 0), EXPORT_RETRY);
	assert_int_equal(otlp_http_outcome(true, 200), EXPORT_OK);
	assert_int_equal(otlp_http_outcome(true, 202), EXPORT_OK);
	assert_int_equal(otlp_http_outcome(true, 429), EXPORT_RETRY);
	assert_int_equal(otlp_http_outcome(true, 502), EXPORT_RETRY);
	assert_int_equal(otlp_http_outcome(true, 503), EXPORT_RETRY);
	assert_int_equal(otlp_http_outcome(true, 504), EXPORT_RETRY);
	assert_int_equal(otlp_http_outcome(true, 400), EXPORT_FAIL);
	assert_int_equal(otlp_http_outcome(true, 404), EXPORT_FAIL);
	assert_int_equal(otlp_http_outcome(true, 500), EXPORT_FAIL);
	assert_int_equal(otlp_grpc_outcome(0), EXPORT_OK);
	assert_int_equal(otlp_grpc_outcome(14), EXPORT_RETRY);
	assert_int_equal(otlp_grpc_outcome(4), EXPORT_RETRY);
	assert_int_equal(otlp_grpc_outcome(3), EXPORT_FAIL);  /* INVALID_ARGUMENT */
	assert_int_equal(otlp_grpc_outcome(12), EXPORT_FAIL); /* UNIMPLEMENTED */
	assert_int_equal(grpc_status_from_http(503), 14);
	assert_int_equal(grpc_status_from_http(404), 12);
}

static void test_retry_delay(void **state)
{
	(void)state;
	/* Exponential, jittered within [step/2, step), capped. */
	for (unsigned a = 1; a <= 6; a++) {
		uint64_t step = 200ull << (a - 1);
		assert_int_equal(retry_delay_ms(a, 200, 30000, -1, 0.0), step / 2);
		uint64_t hi = retry_delay_ms(a, 200, 30000, -1, 0.999999);
		assert_true(hi < step && hi >= step - step / 1000 - 1);
		uint64_t mid = retry_delay_ms(a, 200, 30000, -1, 0.5);
		assert_true(mid > step / 2 && mid < step);
	}
	assert_int_equal(retry_delay_ms(50, 200, 30000, -1, 0.0), 15000);
	assert_true(retry_delay_ms(500, 200, 30000, -1, 0.9) <= 30000);
	/* Retry-After wins, whatever the attempt, within its own cap. */
	assert_int_equal(retry_delay_ms(1, 200, 30000, 7000, 0.3), 7000);
	assert_int_equal(retry_delay_ms(9, 200, 30000, 0, 0.3), 0);
	assert_int_equal(retry_delay_ms(1, 200, 30000, 3600000, 0.3), RETRY_AFTER_MAX_MS);
}

/* base64 (unpadded, as gRPC may send it) of a google.rpc.Status with the given details. */
static size_t status_b64(char *out, const char *type_url, int64_t sec, int32_t nanos)
{
	Rpc__Duration d = RPC__DURATION__INIT;
	Rpc__RetryInfo ri = RPC__RETRY_INFO__INIT;
	Rpc__Any any = RPC__ANY__INIT, other = RPC__ANY__INIT, *det[2] = { &other, &any };
	Rpc__Status st = RPC__STATUS__INIT;
	uint8_t rib[64], stb[256];
	d.seconds = sec;
	d.nanos = nanos;
	ri.retry_delay = &d;
	any.type_url = (char *)type_url;
	any.value = (ProtobufCBinaryData){ rpc__retry_info__pack(&ri, rib), rib };
	other.type_url = "type.googleapis.com/google.rpc.DebugInfo";
	st.code = 8;
	st.message = "slow down";
	st.n_details = 2;
	st.details = det;
	size_t n = rpc__status__pack(&st, stb);
	base64_encode_raw(out, n, stb);
	size_t len = BASE64_ENCODE_RAW_LENGTH(n);
	while (len && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	return len;
}

static void test_grpc_retry_info(void **state)
{
	(void)state;
	char b[512];
	size_t n = status_b64(b, "type.googleapis.com/google.rpc.RetryInfo", 2, 500000000);
	assert_int_equal(grpc_retry_info_ms(b, n), 2500);
	n = status_b64(b, "type.googleapis.com/google.rpc.RetryInfo", 100000, 0);
	assert_int_equal(grpc_retry_info_ms(b, n), RETRY_AFTER_MAX_MS);
	n = status_b64(b, "type.googleapis.com/google.rpc.QuotaFailure", 2, 0);
	assert_int_equal(grpc_retry_info_ms(b, n), -1); /* no RetryInfo among the details */
	assert_int_equal(grpc_retry_info_ms("!!!!", 4), -1);
	assert_int_equal(grpc_retry_info_ms("", 0), -1);
}

/* Found by fuzzing (tests/fuzz/fuzz_grpc.c, fuzz_otlp_http.c): a collector's delay in seconds
 * is any int64 (RetryInfo) or curl_off_t (Retry-After), and * 1000 overflowed. */
static void test_fuzz_retry_delay_overflow(void **state)
{
	(void)state;
	char b[512];
	size_t n = status_b64(b, "type.googleapis.com/google.rpc.RetryInfo", INT64_MAX, 999999999);
	assert_int_equal(grpc_retry_info_ms(b, n), RETRY_AFTER_MAX_MS);
	n = status_b64(b, "type.googleapis.com/google.rpc.RetryInfo", 300, 999999999);
	assert_int_equal(grpc_retry_info_ms(b, n), RETRY_AFTER_MAX_MS);
	n = status_b64(b, "type.googleapis.com/google.rpc.RetryInfo", 299, 500000000);
	assert_int_equal(grpc_retry_info_ms(b, n), 299500);

	struct strbuf body;
	sb_init(&body);
	struct fetch_result r = { .ok = true, .status = 503, .body = &body, .retry_after_s = LONG_MAX };
	struct export_result res;
	otlp_http_result(&r, &res);
	assert_int_equal(res.outcome, EXPORT_RETRY);
	assert_int_equal(res.retry_after_ms, RETRY_AFTER_MAX_MS);
	r.retry_after_s = 7;
	otlp_http_result(&r, &res);
	assert_int_equal(res.retry_after_ms, 7000);
	assert_string_equal(res.detail, "HTTP 503");
	r.status = 500; /* Retry-After only counts on 429 and 503 */
	otlp_http_result(&r, &res);
	assert_int_equal(res.outcome, EXPORT_FAIL);
	assert_int_equal(res.retry_after_ms, -1);
	sb_free(&body);
}

static void test_queue(void **state)
{
	(void)state;
	struct span_queue q;
	struct span s = { 0 };
	assert_int_equal(squeue_init(&q, 4), 0);
	for (uint32_t i = 0; i < 4; i++) {
		s.tid = i;
		assert_true(squeue_push(&q, &s));
	}
	s.tid = 99;
	assert_false(squeue_push(&q, &s)); /* bounded */
	assert_int_equal(q.len, 4);
	squeue_pop(&q, 3);
	assert_int_equal(squeue_at(&q, 0)->tid, 3);
	for (uint32_t i = 4; i < 7; i++) { /* wraps around */
		s.tid = i;
		assert_true(squeue_push(&q, &s));
	}
	assert_false(squeue_push(&q, &s));
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(squeue_at(&q, i)->tid, 3 + i);
	assert_null(squeue_at(&q, 4));
	assert_null(squeue_slot(&q)); /* full: no slot to build in */
	squeue_pop(&q, 10);
	assert_int_equal(q.len, 0);
	struct span *slot = squeue_slot(&q); /* built in place, queued by the commit */
	assert_non_null(slot);
	slot->tid = 42;
	assert_int_equal(q.len, 0);
	squeue_commit(&q);
	assert_int_equal(squeue_at(&q, 0)->tid, 42);
	squeue_free(&q);
}

static void test_target(void **state)
{
	(void)state;
	struct otlp_target t;
	assert_int_equal(otlp_target_resolve(&t, NULL, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(otlp_target_resolve(&t, "http://c:4318", NULL, NULL, NULL, NULL), 1);
	assert_false(t.grpc);
	assert_string_equal(t.url, "http://c:4318/v1/traces");
	assert_int_equal(otlp_target_resolve(&t, "http://c:4318/base/", "http/protobuf", NULL, NULL, NULL),
			 1);
	assert_string_equal(t.url, "http://c:4318/base/v1/traces");
	/* Environment: the per-signal URL as is, else the base URL + /v1/traces; the flag wins. */
	assert_int_equal(otlp_target_resolve(&t, NULL, NULL, "http://x/custom", "http://y", NULL), 1);
	assert_string_equal(t.url, "http://x/custom");
	assert_int_equal(otlp_target_resolve(&t, NULL, NULL, "", "http://y:1", NULL), 1);
	assert_string_equal(t.url, "http://y:1/v1/traces");
	assert_int_equal(otlp_target_resolve(&t, "http://f:2", NULL, "http://x", "http://y", NULL), 1);
	assert_string_equal(t.url, "http://f:2/v1/traces");
	/* gRPC: host and port, 4317 by default, IPv6 in brackets. */
	assert_int_equal(otlp_target_resolve(&t, "http://col:5555", "grpc", NULL, NULL, NULL), 1);
	assert_true(t.grpc);
	assert_string_equal(t.host, "col");
	assert_string_equal(t.port, "5555");
	assert_int_equal(otlp_target_resolve(&t, "col", NULL, NULL, NULL, "grpc"), 1);
	assert_true(t.grpc);
	assert_string_equal(t.port, "4317");
	assert_int_equal(otlp_target_resolve(&t, "http://[::1]:9/", "grpc", NULL, NULL, NULL), 1);
	assert_string_equal(t.host, "::1");
	assert_string_equal(t.port, "9");
	/* https://: TLS, for both protocols */
	assert_int_equal(otlp_target_resolve(&t, "https://col:4317", "grpc", NULL, NULL, NULL), 1);
	assert_true(t.grpc && t.tls);
	assert_string_equal(t.host, "col");
	assert_int_equal(otlp_target_resolve(&t, "https://col:4318", NULL, NULL, NULL, NULL), 1);
	assert_true(!t.grpc && t.tls);
	assert_string_equal(t.url, "https://col:4318/v1/traces");
	assert_int_equal(otlp_target_resolve(&t, "http://col:4318", NULL, NULL, NULL, NULL), 1);
	assert_false(t.tls);
	/* errors: one line on stderr each */
	assert_int_equal(otlp_target_resolve(&t, "http://col:43x", "grpc", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(otlp_target_resolve(&t, "col:4318", NULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(otlp_target_resolve(&t, "http://c", "thrift", NULL, NULL, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_span_from_event),
		cmocka_unit_test(test_span_error_status),
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_no_response_span),
		cmocka_unit_test(test_encode_canonical),
		cmocka_unit_test(test_exchange_spans),
		cmocka_unit_test(test_url_attributes),
		cmocka_unit_test(test_decode_response),
		cmocka_unit_test(test_retry_policy),
		cmocka_unit_test(test_retry_delay),
		cmocka_unit_test(test_grpc_retry_info),
		cmocka_unit_test(test_fuzz_retry_delay_overflow),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
