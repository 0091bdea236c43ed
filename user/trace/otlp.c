// SPDX-License-Identifier: GPL-2.0
/* Span records -> OTLP ExportTraceServiceRequest bytes, with the protobuf-c code generated
 * from proto/otlp_trace.proto; and the response's partial success back. */
#include "internal.h"

#include "h2/h2.h"
#include "metrics/red.h"
#include "pod/workload.h"
#include "util/array.h"
#include "util/version.h"
#include "otlp_trace.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SPAN_ATTRS 18

/* One attribute of a span, pointing at its key and value (the span, the span_msg, literals). */
struct span_attr {
	const char *key, *s;
	size_t klen, slen;
	int64_t i;
	bool is_int;
	size_t vlen, kvlen; /* encoded AnyValue, KeyValue */
};

/* What one span's encoding needs besides the span: filled, written, reused for the next.
 * Spans are written by hand (span_write), not with protobuf-c: its generic packer walks the
 * descriptors and measured ≈ 60% of the agent's encoding time, twice over (size, then pack). */
struct span_msg {
	struct span_attr a[SPAN_ATTRS];
	size_t n;
	char name[SPAN_RPC_SERVICE_LEN + SPAN_RPC_METHOD_LEN + 2];
	size_t name_len;
	bool error, root;
	char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN];
	char error_type[8];
	char url[H2_AUTHORITY_LEN + SPAN_PATH_LEN + INET6_ADDRSTRLEN + 32];
};

/* A string literal and its length. */
#define KEY(k) k, sizeof(k) - 1

static void attr_str(struct span_msg *m, const char *k, size_t kl, const char *v, size_t vl)
{
	m->a[m->n++] = (struct span_attr){ .key = k, .klen = kl, .s = v, .slen = vl };
}

static void attr_int(struct span_msg *m, const char *k, size_t kl, int64_t v)
{
	m->a[m->n++] = (struct span_attr){ .key = k, .klen = kl, .i = v, .is_int = true };
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	for (; v >= 0x80; v >>= 7)
		n++;
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	for (; v >= 0x80; v >>= 7)
		*p++ = (uint8_t)(v | 0x80);
	*p++ = (uint8_t)v;
	return p;
}

static uint8_t *put_bytes(uint8_t *p, const void *v, size_t n)
{
	memcpy(p, v, n);
	return p + n;
}

/* Little-endian, as protobuf's fixed32/fixed64. */
static uint8_t *put_fixed(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++, v >>= 8)
		*p++ = (uint8_t)v;
	return p;
}

/* A bounded string: what does not fit is cut, as snprintf cuts (always terminated). */
struct sbuf {
	char *p;
	size_t cap, len;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n >= b->cap)
		n = b->cap - 1 - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

#define RES_ATTRS (7 + OTLP_MAX_RES_ATTRS)

struct res_msg {
	Otlp__ResourceSpansPacked rs;
	Otlp__Resource resource;
	Otlp__ScopeSpansPacked ss;
	Otlp__ScopeSpansPacked *ssp;
	Otlp__KeyValue kv[RES_ATTRS];
	Otlp__AnyValue av[RES_ATTRS];
	Otlp__KeyValue *kvp[RES_ATTRS];
	char service[256];
};

static void kv_str(Otlp__KeyValue *kv, Otlp__AnyValue *av, const char *k, const char *v)
{
	*av = (Otlp__AnyValue)OTLP__ANY_VALUE__INIT;
	av->value_case = OTLP__ANY_VALUE__VALUE_STRING_VALUE;
	av->string_value = (char *)(v ? v : "");
	*kv = (Otlp__KeyValue)OTLP__KEY_VALUE__INIT;
	kv->key = (char *)k;
	kv->value = av;
}

/* Addresses formatted lately: a pod's spans share a handful, and inet_ntop (which formats
 * with sprintf) was a fifth of the encoder's time. */
#define ADDR_CACHE 8
struct addr_cache {
	struct {
		uint8_t family;
		uint8_t ip[16];
		char s[INET6_ADDRSTRLEN];
	} e[ADDR_CACHE];
	unsigned n, next;
};

static void addr_str(struct addr_cache *c, const struct obsbpf_addrs *a, const uint8_t *ip, char *out)
{
	uint8_t family = a->family == AF_INET6 ? AF_INET6 : AF_INET;
	size_t iplen = family == AF_INET6 ? 16 : 4;
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].family == family && !memcmp(c->e[i].ip, ip, iplen)) {
			memcpy(out, c->e[i].s, sizeof(c->e[i].s));
			return;
		}
	if (family == AF_INET6) {
		/* The kernel stores IPv4 peers of dual-stack sockets IPv4-mapped: show them as IPv4. */
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (!memcmp(ip, mapped, sizeof(mapped)))
			inet_ntop(AF_INET, ip + 12, out, INET6_ADDRSTRLEN);
		else
			inet_ntop(AF_INET6, ip, out, INET6_ADDRSTRLEN);
	} else {
		inet_ntop(AF_INET, ip, out, INET6_ADDRSTRLEN);
	}
	unsigned slot = c->n < ADDR_CACHE ? c->n++ : c->next++ % ADDR_CACHE;
	c->e[slot].family = family;
	memcpy(c->e[slot].ip, ip, iplen);
	memcpy(c->e[slot].s, out, sizeof(c->e[slot].s));
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* url.path and url.query (server spans), url.full (client spans): the path as the request had
 * it (HTTP/2, TLS) or as the kernel keeps it (HTTP/1: templated, no query); the query only when
 * --url-query keep. */
static void url_attrs(struct span_msg *m, const struct span *s)
{
	const char *path = s->path[0] ? s->path : "/";
	size_t plen = strcspn(path, "?");
	const char *query = path[plen] == '?' && span_url_query_keep() ? path + plen + 1 : NULL;
	struct sbuf u = { m->url, sizeof(m->url), 0 };
	if (s->dir == OBSBPF_DIR_SERVER) {
		sb_put(&u, path, plen);
		attr_str(m, KEY("url.path"), m->url, u.len);
		if (query)
			attr_str(m, KEY("url.query"), query, strlen(query));
		return;
	}
	/* What snprintf("%s://%s%.*s%s%s") wrote, without its formatting (once per client span). */
	sb_puts(&u, s->tls ? "https://" : "http://");
	if (s->authority[0]) { /* HTTP/2 :authority, HTTP/1 Host over TLS */
		sb_puts(&u, s->authority);
	} else {
		bool v6 = strchr(m->remote, ':');
		char port[8], *pp = port + sizeof(port);
		unsigned pv = s->addrs.remote_port;
		do /* ":%u", without snprintf */
			*--pp = (char)('0' + pv % 10);
		while (pv /= 10);
		*--pp = ':';
		if (v6)
			sb_puts(&u, "[");
		sb_puts(&u, m->remote);
		if (v6)
			sb_puts(&u, "]");
		sb_put(&u, pp, (size_t)(port + sizeof(port) - pp));
	}
	sb_put(&u, path, plen);
	if (query) {
		sb_puts(&u, "?");
		sb_puts(&u, query);
	}
	attr_str(m, KEY("url.full"), m->url, u.len);
}

/* Attributes: OTel HTTP semantic conventions (http.*, server.*, client.*, network.*). On a
 * server span the pod is the server (local address), on a client span the peer is. */
static void span_attrs(struct span_msg *m, const struct span *s, struct addr_cache *ac)
{
	bool server = s->dir == OBSBPF_DIR_SERVER;

	m->n = 0;
	addr_str(ac, &s->addrs, s->addrs.local, m->local);
	addr_str(ac, &s->addrs, s->addrs.remote, m->remote);
	size_t llen = strlen(m->local), rlen = strlen(m->remote);
	if (s->rpc) {
		/* OTel RPC conventions (v1.37.0, as for the rpc_* metrics) with gRPC's status. */
		attr_str(m, KEY("rpc.system"), KEY("grpc"));
		attr_str(m, KEY("rpc.service"), s->rpc_service, strlen(s->rpc_service));
		attr_str(m, KEY("rpc.method"), s->rpc_method, strlen(s->rpc_method));
		attr_int(m, KEY("rpc.grpc.status_code"), s->grpc_status);
	} else {
		const char *method = red_method_name(s->method);
		attr_str(m, KEY("http.request.method"), method, strlen(method));
		if (s->route[0])
			attr_str(m, KEY("http.route"), s->route, strlen(s->route));
		/* Not for a request that got no response (its status is why: error.type). */
		if (s->status && !red_no_response_name(s->status))
			attr_int(m, KEY("http.response.status_code"), s->status);
		url_attrs(m, s);
	}
	/* error.type: the status code of a failed request (gRPC: the status code), as a string;
	 * for a request that got no response, or a failed call the close ended, why ("timeout",
	 * "connection_reset", ...). */
	const char *none = !s->rpc ? red_no_response_name(s->status)
		: m->error	   ? red_no_response_name(s->closed)
				   : NULL;
	if (none) {
		attr_str(m, KEY("error.type"), none, strlen(none));
	} else if (m->error) {
		int el = snprintf(m->error_type, sizeof(m->error_type), "%d",
				  s->rpc ? s->grpc_status : (int)s->status);
		attr_str(m, KEY("error.type"), m->error_type, (size_t)el);
	}
	if (server)
		attr_str(m, KEY("server.address"), m->local, llen);
	else
		attr_str(m, KEY("server.address"), m->remote, rlen);
	attr_int(m, KEY("server.port"), server ? s->addrs.local_port : s->addrs.remote_port);
	if (server)
		attr_str(m, KEY("client.address"), m->remote, rlen);
	attr_str(m, KEY("network.peer.address"), m->remote, rlen);
	attr_int(m, KEY("network.peer.port"), s->addrs.remote_port);
	static const char *const v1[] = { "1.0", "1.1" };
	const char *ver = s->proto == 2 ? "2" : s->minor < 2 ? v1[s->minor] : "1.1";
	attr_str(m, KEY("network.protocol.version"), ver, strlen(ver));
	if (!s->rpc) {
		if (s->tls)
			attr_str(m, KEY("url.scheme"), KEY("https"));
		else
			attr_str(m, KEY("url.scheme"), KEY("http"));
	}
	if (s->tid) /* unknown for HTTP/2 (frames leave in TCP's time, not a thread's) */
		attr_int(m, KEY("thread.id"), s->tid);
}

/* The Span message's fields (otlp_trace.proto), written in field-number order and left out
 * when zero, as protobuf-c writes them (the unit test compares the two). */
#define SPAN_TRACE_ID	0x0a /* 1, bytes */
#define SPAN_SPAN_ID	0x12 /* 2, bytes */
#define SPAN_PARENT_ID	0x22 /* 4, bytes */
#define SPAN_NAME	0x2a /* 5, string */
#define SPAN_KIND	0x30 /* 6, enum */
#define SPAN_START	0x39 /* 7, fixed64 */
#define SPAN_END	0x41 /* 8, fixed64 */
#define SPAN_ATTRIBUTE	0x4a /* 9, KeyValue */
#define SPAN_STATUS	0x7a /* 15, Status */
#define SPAN_FLAGS_TAG0 0x85 /* 16, fixed32: a two-byte tag */
#define SPAN_FLAGS_TAG1 0x01
#define KV_KEY		0x0a /* KeyValue.key, string */
#define KV_VALUE	0x12 /* KeyValue.value, AnyValue */
#define ANY_STRING	0x0a /* AnyValue.string_value */
#define ANY_INT		0x18 /* AnyValue.int_value, int64 */
#define STATUS_CODE	0x18 /* Status.code, enum */

/* Bytes of span s as an encoded Span; m holds its attributes and name, filled here. */
static size_t span_size(struct span_msg *m, const struct span *s, struct addr_cache *ac)
{
	m->error = span_is_error(s);
	span_name(s, m->name, sizeof(m->name));
	m->name_len = strlen(m->name);
	m->root = all_zero(s->parent_id, sizeof(s->parent_id));
	span_attrs(m, s, ac);
	size_t n = 2 + sizeof(s->trace_id) + 2 + sizeof(s->span_id);
	if (!m->root)
		n += 2 + sizeof(s->parent_id);
	if (m->name_len)
		n += 1 + varint_len(m->name_len) + m->name_len;
	n += 2; /* kind: SERVER or CLIENT, never 0 */
	n += s->start_unix_ns ? 1 + 8 : 0;
	n += s->end_unix_ns ? 1 + 8 : 0;
	for (size_t i = 0; i < m->n; i++) {
		struct span_attr *a = &m->a[i];
		a->vlen = a->is_int ? 1 + varint_len((uint64_t)a->i) : 1 + varint_len(a->slen) + a->slen;
		a->kvlen = 1 + varint_len(a->klen) + a->klen + 1 + varint_len(a->vlen) + a->vlen;
		n += 1 + varint_len(a->kvlen) + a->kvlen;
	}
	if (m->error)
		n += 4; /* status: code ERROR */
	if (s->flags)
		n += 2 + 4;
	return n;
}

/* Writes what span_size measured, to p. */
static void span_write(const struct span_msg *m, const struct span *s, uint8_t *p)
{
	*p++ = SPAN_TRACE_ID, *p++ = sizeof(s->trace_id);
	p = put_bytes(p, s->trace_id, sizeof(s->trace_id));
	*p++ = SPAN_SPAN_ID, *p++ = sizeof(s->span_id);
	p = put_bytes(p, s->span_id, sizeof(s->span_id));
	if (!m->root) {
		*p++ = SPAN_PARENT_ID, *p++ = sizeof(s->parent_id);
		p = put_bytes(p, s->parent_id, sizeof(s->parent_id));
	}
	if (m->name_len) {
		*p++ = SPAN_NAME;
		p = put_varint(p, m->name_len);
		p = put_bytes(p, m->name, m->name_len);
	}
	*p++ = SPAN_KIND;
	*p++ = s->dir == OBSBPF_DIR_SERVER ? OTLP__SPAN__SPAN_KIND__SPAN_KIND_SERVER
					   : OTLP__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
	if (s->start_unix_ns)
		*p++ = SPAN_START, p = put_fixed(p, s->start_unix_ns, 8);
	if (s->end_unix_ns)
		*p++ = SPAN_END, p = put_fixed(p, s->end_unix_ns, 8);
	for (size_t i = 0; i < m->n; i++) {
		const struct span_attr *a = &m->a[i];
		*p++ = SPAN_ATTRIBUTE;
		p = put_varint(p, a->kvlen);
		*p++ = KV_KEY;
		p = put_varint(p, a->klen);
		p = put_bytes(p, a->key, a->klen);
		*p++ = KV_VALUE;
		p = put_varint(p, a->vlen);
		if (a->is_int) {
			*p++ = ANY_INT;
			p = put_varint(p, (uint64_t)a->i);
		} else {
			*p++ = ANY_STRING;
			p = put_varint(p, a->slen);
			p = put_bytes(p, a->s, a->slen);
		}
	}
	if (m->error)
		*p++ = SPAN_STATUS, *p++ = 2, *p++ = STATUS_CODE,
		*p++ = OTLP__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
	/* Span.flags: the W3C trace-flags in bits 0-7; bit 8 says whether "has remote parent"
	 * (bit 9) is known, which we do not claim. */
	if (s->flags)
		*p++ = SPAN_FLAGS_TAG0, *p++ = SPAN_FLAGS_TAG1, p = put_fixed(p, s->flags, 4);
}

static void fill_resource(struct res_msg *m, const struct span_resource *r, Otlp__InstrumentationScope *scope,
			  const struct otlp_attr *extra, size_t nextra)
{
	size_t n = 0;
	if (r->service)
		snprintf(m->service, sizeof(m->service), "%s", r->service);
	else
		pod_workload_name(r->pod ? r->pod : "", m->service, sizeof(m->service));
	kv_str(&m->kv[n], &m->av[n], "service.name", m->service), n++;
	kv_str(&m->kv[n], &m->av[n], "k8s.pod.name", r->pod), n++;
	kv_str(&m->kv[n], &m->av[n], "k8s.namespace.name", r->namespace_), n++;
	kv_str(&m->kv[n], &m->av[n], "k8s.node.name", r->node), n++;
	/* The SDK is obsbpf itself, written in C (not in the conventions' list of languages, which
	 * allows others). */
	kv_str(&m->kv[n], &m->av[n], "telemetry.sdk.name", "obsbpf"), n++;
	kv_str(&m->kv[n], &m->av[n], "telemetry.sdk.language", "c"), n++;
	kv_str(&m->kv[n], &m->av[n], "telemetry.sdk.version", obsbpf_version()), n++;
	for (size_t i = 0; i < nextra && n < RES_ATTRS; i++)
		kv_str(&m->kv[n], &m->av[n], extra[i].key, extra[i].value), n++;
	for (size_t i = 0; i < n; i++)
		m->kvp[i] = &m->kv[i];
	m->resource = (Otlp__Resource)OTLP__RESOURCE__INIT;
	m->resource.n_attributes = n;
	m->resource.attributes = m->kvp;
	m->ss = (Otlp__ScopeSpansPacked)OTLP__SCOPE_SPANS_PACKED__INIT;
	m->ss.scope = scope;
	m->ssp = &m->ss;
	m->rs = (Otlp__ResourceSpansPacked)OTLP__RESOURCE_SPANS_PACKED__INIT;
	m->rs.resource = &m->resource;
	m->rs.n_scope_spans = 1;
	m->rs.scope_spans = &m->ssp;
}

void otlp_scratch_free(struct otlp_scratch *s)
{
	free(s->spans);
	free(s->req);
	*s = (struct otlp_scratch){ 0 };
}

int otlp_encode(struct otlp_scratch *sc, const struct span *const *spans, size_t n,
		const struct span_resource *res, size_t nres, const uint8_t **out, size_t *len)
{
	Otlp__InstrumentationScope scope = OTLP__INSTRUMENTATION_SCOPE__INIT;
	Otlp__ExportTraceServiceRequestPacked req = OTLP__EXPORT_TRACE_SERVICE_REQUEST_PACKED__INIT;
	struct span_msg *sm = malloc(sizeof(*sm));
	struct addr_cache *ac = calloc(1, sizeof(*ac));
	ProtobufCBinaryData *packed = calloc(n ? n : 1, sizeof(*packed));
	size_t *at_off = calloc(n ? n : 1, sizeof(*at_off));
	struct res_msg *rm = calloc(nres ? nres : 1, sizeof(*rm));
	Otlp__ResourceSpansPacked **rsp = calloc(nres ? nres : 1, sizeof(*rsp));
	size_t *first = calloc(nres ? nres : 1, sizeof(*first));
	size_t *count = calloc(nres ? nres : 1, sizeof(*count));
	size_t used = 0;
	int rc = -ENOMEM;

	*out = NULL;
	*len = 0;
	if (!sm || !ac || !packed || !at_off || !rm || !rsp || !first || !count)
		goto out;
	scope.name = "obsbpf";
	scope.version = (char *)obsbpf_version();
	/* Spans are grouped by resource: count, then place each resource's spans contiguously. */
	for (size_t i = 0; i < n; i++)
		if (spans[i]->res < nres)
			count[spans[i]->res]++;
	size_t off = 0;
	for (size_t r = 0; r < nres; r++) {
		first[r] = off;
		off += count[r];
		count[r] = 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned r = spans[i]->res;
		if (r >= nres)
			continue; /* no resource: cannot happen through tracer_add */
		size_t at = first[r] + count[r]++;
		size_t sz = span_size(sm, spans[i], ac);
		if (!array_grow((void **)&sc->spans, &sc->spans_cap, used + sz, 1))
			goto out;
		span_write(sm, spans[i], sc->spans + used);
		at_off[at] = used;
		packed[at].len = sz;
		used += sz;
	}
	/* The buffer has stopped moving: point at the packed spans. */
	for (size_t i = 0; i < n; i++)
		packed[i].data = sc->spans + at_off[i];
	for (size_t r = 0; r < nres; r++) {
		if (!count[r])
			continue;
		fill_resource(&rm[r], &res[r], &scope, sc->extra, sc->nextra);
		rm[r].ss.n_spans = count[r];
		rm[r].ss.spans = &packed[first[r]];
		rsp[req.n_resource_spans++] = &rm[r].rs;
	}
	req.resource_spans = rsp;
	size_t total = otlp__export_trace_service_request_packed__get_packed_size(&req);
	if (!array_grow((void **)&sc->req, &sc->req_cap, total ? total : 1, 1))
		goto out;
	otlp__export_trace_service_request_packed__pack(&req, sc->req);
	*out = sc->req;
	*len = total;
	rc = 0;
out:
	free(sm);
	free(ac);
	free(packed);
	free(at_off);
	free(rm);
	free(rsp);
	free(first);
	free(count);
	return rc;
}

int otlp_decode_response(const uint8_t *buf, size_t len, int64_t *rejected, char *msg, size_t msglen)
{
	*rejected = 0;
	if (msglen)
		msg[0] = '\0';
	if (!len)
		return 0;
	Otlp__ExportTraceServiceResponse *r = otlp__export_trace_service_response__unpack(NULL, len, buf);
	if (!r)
		return -EBADMSG;
	if (r->partial_success) {
		*rejected = r->partial_success->rejected_spans;
		if (msglen)
			snprintf(msg, msglen, "%s", r->partial_success->error_message);
	}
	otlp__export_trace_service_response__free_unpacked(r, NULL);
	return 0;
}
