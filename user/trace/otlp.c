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

/* Everything one span's message points at: filled, packed, then reused for the next span. */
struct span_msg {
	Otlp__Span span;
	Otlp__Status status;
	Otlp__KeyValue kv[SPAN_ATTRS];
	Otlp__AnyValue av[SPAN_ATTRS];
	Otlp__KeyValue *kvp[SPAN_ATTRS];
	char name[SPAN_RPC_SERVICE_LEN + SPAN_RPC_METHOD_LEN + 2];
	char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN];
	const char *method;
	char error_type[8];
	char url[H2_AUTHORITY_LEN + SPAN_PATH_LEN + INET6_ADDRSTRLEN + 32];
	const char *query;
};

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

static void kv_int(Otlp__KeyValue *kv, Otlp__AnyValue *av, const char *k, int64_t v)
{
	*av = (Otlp__AnyValue)OTLP__ANY_VALUE__INIT;
	av->value_case = OTLP__ANY_VALUE__VALUE_INT_VALUE;
	av->int_value = v;
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
 * --url-query keep. Returns the attributes added. */
static size_t url_attrs(struct span_msg *m, const struct span *s, size_t n)
{
	const char *path = s->path[0] ? s->path : "/";
	size_t plen = strcspn(path, "?");
	m->query = path[plen] == '?' && span_url_query_keep() ? path + plen + 1 : NULL;
	size_t k = 0;
	if (s->dir == OBSBPF_DIR_SERVER) {
		snprintf(m->url, sizeof(m->url), "%.*s", (int)plen, path);
		kv_str(&m->kv[n + k], &m->av[n + k], "url.path", m->url), k++;
		if (m->query)
			kv_str(&m->kv[n + k], &m->av[n + k], "url.query", m->query), k++;
		return k;
	}
	const char *scheme = s->tls ? "https" : "http";
	if (s->authority[0]) /* HTTP/2 :authority, HTTP/1 Host over TLS */
		snprintf(m->url, sizeof(m->url), "%s://%s%.*s%s%s", scheme, s->authority, (int)plen, path,
			 m->query ? "?" : "", m->query ? m->query : "");
	else
		snprintf(m->url, sizeof(m->url), "%s://%s%s%s:%u%.*s%s%s", scheme,
			 strchr(m->remote, ':') ? "[" : "", m->remote, strchr(m->remote, ':') ? "]" : "",
			 s->addrs.remote_port, (int)plen, path, m->query ? "?" : "",
			 m->query ? m->query : "");
	kv_str(&m->kv[n + k], &m->av[n + k], "url.full", m->url), k++;
	return k;
}

/* Attributes: OTel HTTP semantic conventions (http.*, server.*, client.*, network.*). On a
 * server span the pod is the server (local address), on a client span the peer is. */
static void fill_span(struct span_msg *m, const struct span *s, struct addr_cache *ac)
{
	Otlp__Span *p = &m->span;
	bool server = s->dir == OBSBPF_DIR_SERVER;
	size_t n = 0;

	*p = (Otlp__Span)OTLP__SPAN__INIT;
	p->trace_id = (ProtobufCBinaryData){ sizeof(s->trace_id), (uint8_t *)s->trace_id };
	p->span_id = (ProtobufCBinaryData){ sizeof(s->span_id), (uint8_t *)s->span_id };
	if (!all_zero(s->parent_id, sizeof(s->parent_id)))
		p->parent_span_id = (ProtobufCBinaryData){ sizeof(s->parent_id), (uint8_t *)s->parent_id };
	/* Span.flags: the W3C trace-flags in bits 0-7; bit 8 says whether "has remote parent"
	 * (bit 9) is known, which we do not claim. */
	p->flags = s->flags;
	span_name(s, m->name, sizeof(m->name));
	p->name = m->name;
	p->kind = server ? OTLP__SPAN__SPAN_KIND__SPAN_KIND_SERVER : OTLP__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
	p->start_time_unix_nano = s->start_unix_ns;
	p->end_time_unix_nano = s->end_unix_ns;

	addr_str(ac, &s->addrs, s->addrs.local, m->local);
	addr_str(ac, &s->addrs, s->addrs.remote, m->remote);
	if (s->rpc) {
		/* OTel RPC conventions (v1.37.0, as for the rpc_* metrics) with gRPC's status. */
		kv_str(&m->kv[n], &m->av[n], "rpc.system", "grpc"), n++;
		kv_str(&m->kv[n], &m->av[n], "rpc.service", s->rpc_service), n++;
		kv_str(&m->kv[n], &m->av[n], "rpc.method", s->rpc_method), n++;
		kv_int(&m->kv[n], &m->av[n], "rpc.grpc.status_code", s->grpc_status), n++;
	} else {
		m->method = red_method_name(s->method);
		kv_str(&m->kv[n], &m->av[n], "http.request.method", m->method), n++;
		if (s->route[0])
			kv_str(&m->kv[n], &m->av[n], "http.route", s->route), n++;
		/* Not for a request that got no response (its status is why: error.type). */
		if (s->status && !red_no_response_name(s->status))
			kv_int(&m->kv[n], &m->av[n], "http.response.status_code", s->status), n++;
		n += url_attrs(m, s, n);
	}
	/* error.type: the status code of a failed request (gRPC: the status code), as a string;
	 * for a request that got no response, why ("timeout", "connection_reset", ...). */
	const char *none = s->rpc ? NULL : red_no_response_name(s->status);
	if (none) {
		kv_str(&m->kv[n], &m->av[n], "error.type", none), n++;
	} else if (span_is_error(s)) {
		snprintf(m->error_type, sizeof(m->error_type), "%d",
			 s->rpc ? s->grpc_status : (int)s->status);
		kv_str(&m->kv[n], &m->av[n], "error.type", m->error_type), n++;
	}
	kv_str(&m->kv[n], &m->av[n], "server.address", server ? m->local : m->remote), n++;
	kv_int(&m->kv[n], &m->av[n], "server.port", server ? s->addrs.local_port : s->addrs.remote_port), n++;
	if (server)
		kv_str(&m->kv[n], &m->av[n], "client.address", m->remote), n++;
	kv_str(&m->kv[n], &m->av[n], "network.peer.address", m->remote), n++;
	kv_int(&m->kv[n], &m->av[n], "network.peer.port", s->addrs.remote_port), n++;
	static const char *const v1[] = { "1.0", "1.1" };
	kv_str(&m->kv[n], &m->av[n], "network.protocol.version",
	       s->proto == 2	      ? "2"
		       : s->minor < 2 ? v1[s->minor]
				      : "1.1"),
		n++;
	if (!s->rpc)
		kv_str(&m->kv[n], &m->av[n], "url.scheme", s->tls ? "https" : "http"), n++;
	if (s->tid) /* unknown for HTTP/2 (frames leave in TCP's time, not a thread's) */
		kv_int(&m->kv[n], &m->av[n], "thread.id", s->tid), n++;
	for (size_t i = 0; i < n; i++)
		m->kvp[i] = &m->kv[i];
	p->n_attributes = n;
	p->attributes = m->kvp;

	if (span_is_error(s)) {
		m->status = (Otlp__Status)OTLP__STATUS__INIT;
		m->status.code = OTLP__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
		p->status = &m->status;
	}
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
		fill_span(sm, spans[i], ac);
		size_t sz = otlp__span__get_packed_size(&sm->span);
		if (!array_grow((void **)&sc->spans, &sc->spans_cap, used + sz, 1))
			goto out;
		otlp__span__pack(&sm->span, sc->spans + used);
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
