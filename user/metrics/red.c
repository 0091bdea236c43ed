// SPDX-License-Identifier: GPL-2.0
#include "red.h"

#include "util/strbuf.h"
#include "buckets.h"
#include "exemplars.h"
#include "hist_store.h"
#include "route.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

static const char *const method_names[OBSBPF_M_MAX] = {
	[OBSBPF_M_OTHER] = "_OTHER",	[OBSBPF_M_GET] = "GET",		[OBSBPF_M_HEAD] = "HEAD",
	[OBSBPF_M_POST] = "POST",	[OBSBPF_M_PUT] = "PUT",		[OBSBPF_M_DELETE] = "DELETE",
	[OBSBPF_M_CONNECT] = "CONNECT", [OBSBPF_M_OPTIONS] = "OPTIONS", [OBSBPF_M_TRACE] = "TRACE",
	[OBSBPF_M_PATCH] = "PATCH",
};

const char *red_method_name(unsigned method)
{
	return method < OBSBPF_M_MAX ? method_names[method] : "_OTHER";
}

static int cmp_route(const void *a, const void *b)
{
	uint32_t x = ((const struct dp_route *)a)->id, y = ((const struct dp_route *)b)->id;
	return x < y ? -1 : x > y;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct obsbpf_hist_key *x = &((const struct dp_hist_entry *)a)->key;
	const struct obsbpf_hist_key *y = &((const struct dp_hist_entry *)b)->key;
	if (x->dir != y->dir)
		return x->dir - y->dir;
	if (x->route_id != y->route_id)
		return x->route_id < y->route_id ? -1 : 1;
	if (x->method != y->method)
		return x->method - y->method;
	if (x->status != y->status)
		return x->status - y->status;
	return memcmp(&x->http10, &y->http10, sizeof(*x) - offsetof(struct obsbpf_hist_key, http10));
}

/* pod NULL: a node-wide series (daemon mode's agent counters), labelled by node only. */
void red_pod_label_set(struct strbuf *out, const struct pod_labels *l)
{
	if (l->pod) {
		sb_puts(out, "k8s_pod_name=\"");
		sb_label_value(out, l->pod);
		sb_puts(out, "\",k8s_namespace_name=\"");
		sb_label_value(out, l->namespace_);
		sb_puts(out, "\",");
	}
	sb_puts(out, "k8s_node_name=\"");
	sb_label_value(out, l->node);
	sb_putc(out, '"');
}

/* The labels of an entry's pod; NULL for a pod no longer (or not yet) known: not rendered. */
const struct pod_labels *red_labels_for(const struct red_pod *pods, int npods, uint32_t pod_id)
{
	for (int i = 0; i < npods; i++)
		if (pods[i].id == pod_id || pods[i].id == RED_ANY_POD)
			return &pods[i].l;
	return NULL;
}

void red_addr_str(uint16_t family, const uint8_t *ip, char *out, size_t n)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (family == AF_INET6 && memcmp(ip, mapped, sizeof(mapped)))
		inet_ntop(AF_INET6, ip, out, (socklen_t)n);
	else /* IPv4, or IPv4-mapped on a dual-stack socket: shown as IPv4 */
		inet_ntop(AF_INET, family == AF_INET6 ? ip + 12 : ip, out, (socklen_t)n);
}

bool red_failed(uint8_t dir, bool rpc, int grpc_status, unsigned status)
{
	if (rpc) {
		if (dir != OBSBPF_DIR_SERVER)
			return grpc_status != 0;
		switch (grpc_status) {
		case 2:	 /* UNKNOWN */
		case 4:	 /* DEADLINE_EXCEEDED */
		case 12: /* UNIMPLEMENTED */
		case 13: /* INTERNAL */
		case 14: /* UNAVAILABLE */
		case 15: /* DATA_LOSS */
			return true;
		}
		return false;
	}
	return status >= (dir == OBSBPF_DIR_SERVER ? 500u : 400u);
}

const char *red_no_response_name(unsigned status)
{
	static const char *const names[] = {
		[OBSBPF_STATUS_TIMEOUT - OBSBPF_STATUS_NO_RESPONSE] = "timeout",
		[OBSBPF_STATUS_CONN_RESET - OBSBPF_STATUS_NO_RESPONSE] = "connection_reset",
		[OBSBPF_STATUS_CONN_CLOSED - OBSBPF_STATUS_NO_RESPONSE] = "connection_closed",
	};
	if (status < OBSBPF_STATUS_NO_RESPONSE)
		return NULL;
	/* A value a newer kernel side might add: still no response, of no known kind. */
	return status < OBSBPF_STATUS_NO_RESPONSE_MAX ? names[status - OBSBPF_STATUS_NO_RESPONSE] : "_OTHER";
}

void red_http_labels(struct strbuf *out, const struct red_http *h)
{
	const char *none = red_no_response_name(h->status);
	sb_printf(out, "http_request_method=\"%s\",", h->method);
	/* Semantic conventions: http.response.status_code only when a response was received. */
	if (!none)
		sb_printf(out, "http_response_status_code=\"%u\",", h->status);
	sb_puts(out, "http_route=\"");
	sb_label_value(out, h->route);
	sb_putc(out, '"');
	/* error.type: why there was no response, else the status code, for a server's 5xx and a
	 * client's 4xx and 5xx. */
	if (none)
		sb_printf(out, ",error_type=\"%s\"", none);
	else if (red_failed(h->dir, false, 0, h->status))
		sb_printf(out, ",error_type=\"%u\"", h->status);
	sb_printf(out, ",network_protocol_version=\"%s\"", h->version);
	if (h->dir == OBSBPF_DIR_CLIENT && h->server_address) {
		sb_puts(out, ",server_address=\"");
		sb_label_value(out, h->server_address);
		sb_printf(out, "\",server_port=\"%u\"", h->server_port);
	}
	sb_printf(out, ",url_scheme=\"%s\"", h->tls ? "https" : "http");
}

static void series_labels(struct strbuf *out, const struct obsbpf_hist_key *k, const char *route,
			  const struct pod_labels *l)
{
	char addr[INET6_ADDRSTRLEN] = "";
	if (k->dir == OBSBPF_DIR_CLIENT)
		red_addr_str(k->family, k->peer, addr, sizeof(addr));
	struct red_http h = { .dir = k->dir,
			      .method = red_method_name(k->method),
			      .status = k->status,
			      .route = route,
			      .version = k->http10 ? "1.0" : "1.1",
			      .server_address = k->dir == OBSBPF_DIR_CLIENT ? addr : NULL,
			      .server_port = k->peer_port };
	red_http_labels(out, &h);
	sb_putc(out, ',');
	red_pod_label_set(out, l);
}

/* OpenMetrics exemplar: " # {trace_id=...,span_id=...} value timestamp". The label set is
 * 8 + 32 + 7 + 16 = 63 characters, within the format's limit of 128. */
void red_put_exemplar(struct strbuf *out, const struct exemplar *e)
{
	sb_puts(out, " # {trace_id=\"");
	sb_hex(out, e->trace_id, sizeof(e->trace_id));
	sb_puts(out, "\",span_id=\"");
	sb_hex(out, e->span_id, sizeof(e->span_id));
	sb_printf(out, "\"} %.9f %lld.%03lld", (double)e->value_ns / 1e9, (long long)(e->unix_ms / 1000),
		  (long long)(e->unix_ms % 1000));
}

static void render_family(struct strbuf *out, enum exposition_format fmt, const char *name, const char *help,
			  uint8_t dir, const struct red_pod *pods, int npods, const struct dp_hist_entry *h,
			  int nh, const struct dp_route *routes, int nroutes, const struct exemplars *ex,
			  const struct hist_store *us)
{
	http_expo_family(out, fmt, name, "histogram", help);
	struct strbuf lb;
	sb_init(&lb);
	for (int i = 0; i < nh; i++) {
		const struct obsbpf_hist_key *k = &h[i].key;
		const struct pod_labels *l = red_labels_for(pods, npods, k->pod_id);
		if (k->dir != dir || !l)
			continue;
		char route[OBSBPF_ROUTE_LEN + 8] = "_OTHER";
		struct dp_route probe = { .id = k->route_id };
		const struct dp_route *r = k->route_id == OBSBPF_ROUTE_OVERFLOW || nroutes <= 0
			? NULL
			: bsearch(&probe, routes, (size_t)nroutes, sizeof(*routes), cmp_route);
		if (r)
			route_template(r->path, route, sizeof(route));
		const struct exemplar *xs = fmt == EXPO_OPENMETRICS ? exemplars_get(ex, k) : NULL;
		sb_reset(&lb);
		series_labels(&lb, k, route, l);
		if (lb.oom) {
			out->oom = true;
			break;
		}
		uint64_t b[OBSBPF_HIST_BUCKETS];
		for (int j = 0; j < OBSBPF_HIST_BUCKETS; j++)
			b[j] = h[i].val.buckets[j];
		hist_write_series(out, fmt, name, lb.buf, b, h[i].val.count, h[i].val.sum_ns, xs);
	}
	sb_free(&lb);
	/* HTTP/2 series, aggregated in user space, join the family. */
	hist_store_render(us, out, fmt, dir == OBSBPF_DIR_SERVER ? HF_HTTP_SERVER : HF_HTTP_CLIENT, pods,
			  npods);
}

void red_render(struct strbuf *out, enum exposition_format fmt, const struct pod_labels *l,
		const struct dp_hist_entry *h, int nh, const struct dp_route *routes, int nroutes,
		const struct exemplars *ex)
{
	struct red_pod any = { RED_ANY_POD, *l };
	red_render_pods(out, fmt, &any, 1, h, nh, routes, nroutes, ex);
}

void red_render_pods(struct strbuf *out, enum exposition_format fmt, const struct red_pod *pods, int npods,
		     const struct dp_hist_entry *h, int nh, const struct dp_route *routes, int nroutes,
		     const struct exemplars *ex)
{
	red_render_families(out, fmt, pods, npods, h, nh, routes, nroutes, ex, NULL);
}

void red_render_families(struct strbuf *out, enum exposition_format fmt, const struct red_pod *pods,
			 int npods, const struct dp_hist_entry *h, int nh, const struct dp_route *routes,
			 int nroutes, const struct exemplars *ex, const struct hist_store *us)
{
	/* Sorted copies: stable output, and routes binary-searchable. The caller's arrays are ours
	 * to reorder (they are fresh snapshots). */
	if (nroutes > 0)
		qsort((void *)routes, (size_t)nroutes, sizeof(*routes), cmp_route);
	if (nh > 0)
		qsort((void *)h, (size_t)nh, sizeof(*h), cmp_entry);
	render_family(
		out, fmt, "http_server_request_duration_seconds",
		"Duration of HTTP server requests, measured in the kernel from request arrival to response.",
		OBSBPF_DIR_SERVER, pods, npods, h, nh, routes, nroutes, ex, us);
	render_family(
		out, fmt, "http_client_request_duration_seconds",
		"Duration of HTTP client requests, measured in the kernel from request sent to response arrival.",
		OBSBPF_DIR_CLIENT, pods, npods, h, nh, routes, nroutes, ex, us);
	if (!us)
		return;
	http_expo_family(out, fmt, "rpc_server_duration_seconds", "histogram",
			 "Duration of gRPC calls the pod served, timed in the kernel from the request's "
			 "HEADERS arriving to the response's end leaving.");
	hist_store_render(us, out, fmt, HF_RPC_SERVER, pods, npods);
	http_expo_family(out, fmt, "rpc_client_duration_seconds", "histogram",
			 "Duration of gRPC calls the pod made, timed in the kernel from the request's "
			 "HEADERS leaving to the response's end arriving.");
	hist_store_render(us, out, fmt, HF_RPC_CLIENT, pods, npods);
}

static void counter(struct strbuf *out, enum exposition_format fmt, const char *name, const char *help)
{
	http_expo_family(out, fmt, name, "counter", help);
}

static void sample(struct strbuf *out, const char *name, const char *extra, const struct pod_labels *l,
		   uint64_t v)
{
	sb_printf(out, "%s{%s%s", name, extra ? extra : "", extra ? "," : "");
	red_pod_label_set(out, l);
	sb_printf(out, "} %llu\n", (unsigned long long)v);
}

/* One kernel counter per label value: name{label="value",pod labels} stats[stat]. */
struct stat_label {
	const char *value;
	int stat;
};
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void stat_samples(struct strbuf *out, const char *name, const char *label, const struct stat_label *t,
			 size_t n, const struct pod_labels *l, const uint64_t *stats)
{
	for (size_t i = 0; i < n; i++) {
		char extra[64];
		snprintf(extra, sizeof(extra), "%s=\"%s\"", label, t[i].value);
		sample(out, name, extra, l, stats[t[i].stat]);
	}
}

void red_sample(struct strbuf *out, const char *name, const char *extra, const struct pod_labels *l,
		uint64_t v)
{
	sample(out, name, extra, l, v);
}

void agent_counters_render(struct strbuf *out, enum exposition_format fmt, const struct pod_labels *l,
			   const struct agent_counters *c)
{
	const uint64_t *s = c->stats;
	counter(out, fmt, "obsbpf_tcp_connections_opened_total",
		"TCP connections of the pod that reached ESTABLISHED.");
	sample(out, "obsbpf_tcp_connections_opened_total", "direction=\"inbound\"", l,
	       s[OBSBPF_ST_CONN_OPEN_SERVER]);
	sample(out, "obsbpf_tcp_connections_opened_total", "direction=\"outbound\"", l,
	       s[OBSBPF_ST_CONN_OPEN_CLIENT]);
	counter(out, fmt, "obsbpf_tcp_connections_closed_total", "TCP connections of the pod that closed.");
	sample(out, "obsbpf_tcp_connections_closed_total", "direction=\"inbound\"", l,
	       s[OBSBPF_ST_CONN_CLOSE_SERVER]);
	sample(out, "obsbpf_tcp_connections_closed_total", "direction=\"outbound\"", l,
	       s[OBSBPF_ST_CONN_CLOSE_CLIENT]);
	counter(out, fmt, "obsbpf_connections_unparsed_total",
		"Connections passed through untouched because they do not carry HTTP/1.x: TLS counts those whose plaintext the OpenSSL probes did not see.");
	uint64_t tls_seen = s[OBSBPF_ST_CONN_TLS_VISIBLE] < s[OBSBPF_ST_CONN_TLS]
		? s[OBSBPF_ST_CONN_TLS_VISIBLE]
		: s[OBSBPF_ST_CONN_TLS];
	sample(out, "obsbpf_connections_unparsed_total", "protocol=\"tls\"", l,
	       s[OBSBPF_ST_CONN_TLS] - tls_seen);
	sample(out, "obsbpf_connections_unparsed_total", "protocol=\"other\"", l, s[OBSBPF_ST_CONN_OTHER]);
	sample(out, "obsbpf_connections_unparsed_total", "protocol=\"upgraded\"", l,
	       s[OBSBPF_ST_CONN_UPGRADED]);
	/* HTTP/2 connections whose frames stopped being followed (kernel) or decoded (user space). */
	const struct {
		const char *reason;
		uint64_t v;
	} h2[] = {
		{ "gap", s[OBSBPF_ST_H2_LOST_GAP] },
		{ "malformed", s[OBSBPF_ST_H2_LOST_MALFORMED] },
		{ "events_lost", s[OBSBPF_ST_H2_LOST_EVENTS] },
		{ "frame_budget", s[OBSBPF_ST_H2_LOST_BUDGET] },
		{ "hpack", c->h2_hpack },
		{ "header_block_too_large", c->h2_block },
		{ "frame_order", c->h2_order },
		{ "connection_limit", c->h2_limit },
	};
	for (size_t i = 0; i < ARRAY_LEN(h2); i++) {
		char extra[80];
		snprintf(extra, sizeof(extra), "protocol=\"h2\",reason=\"%s\"", h2[i].reason);
		sample(out, "obsbpf_connections_unparsed_total", extra, l, h2[i].v);
	}
	counter(out, fmt, "obsbpf_h2_connections_total",
		"Connections found to carry HTTP/2 with prior knowledge (the client's preface, or the server's "
		"SETTINGS first): their frames are followed in both directions.");
	sample(out, "obsbpf_h2_connections_total", NULL, l, s[OBSBPF_ST_CONN_H2]);
	counter(out, fmt, "obsbpf_connections_adopted_total",
		"TCP connections established before attach, found at attach and followed from then on; "
		"outbound ones with bytes in flight then are left alone (busy).");
	static const struct stat_label ad[] = {
		{ "inbound", OBSBPF_ST_ADOPTED_SERVER },
		{ "outbound", OBSBPF_ST_ADOPTED_CLIENT },
		{ "outbound_busy", OBSBPF_ST_ADOPT_BUSY },
	};
	stat_samples(out, "obsbpf_connections_adopted_total", "direction", ad, ARRAY_LEN(ad), l, s);
	counter(out, fmt, "obsbpf_connections_untracked_total",
		"Client connections the kernel side could not follow (the sockhash held --max-connections): passed through untouched, neither measured nor traced.");
	sample(out, "obsbpf_connections_untracked_total", NULL, l, s[OBSBPF_ST_CONN_UNTRACKED]);
	counter(out, fmt, "obsbpf_connections_released_total",
		"Client connections taken out of the sockhash because sk_msg had no more use for them, by reason: "
		"TLS, another protocol, upgraded (101, CONNECT), HTTP/2 with no trace field to insert. Out of it, "
		"a socket's blocking reads no longer meet the kernel's tcp_bpf EAGAIN bug.");
	static const struct stat_label rel[] = {
		{ "tls", OBSBPF_ST_RELEASED_TLS },
		{ "other", OBSBPF_ST_RELEASED_OTHER },
		{ "upgraded", OBSBPF_ST_RELEASED_UPGRADED },
		{ "h2", OBSBPF_ST_RELEASED_H2 },
	};
	stat_samples(out, "obsbpf_connections_released_total", "reason", rel, ARRAY_LEN(rel), l, s);
	http_expo_family(
		out, fmt, "obsbpf_connections_release_waiting", "gauge",
		"Client connections asking to leave the sockhash that are still in it: with the FIONREAD "
		"fallback's verdict, until nothing queued or waiting on them would be lost.");
	sample(out, "obsbpf_connections_release_waiting", NULL, l,
	       (uint64_t)(c->release_waiting > 0 ? c->release_waiting : 0));
	counter(out, fmt, "obsbpf_recv_eagain_total",
		"Blocking reads without a timeout on client connections in the sockhash that failed with EAGAIN: "
		"the kernel's tcp_bpf_recvmsg bug, seen by the thread hook (tp_btf/sock_recv_length, while tracing).");
	sample(out, "obsbpf_recv_eagain_total", NULL, l, s[OBSBPF_ST_RECV_EAGAIN]);
	counter(out, fmt, "obsbpf_http_messages_unparsed_total",
		"HTTP messages passed through without a measurement, by reason.");
	static const struct stat_label why[] = {
		{ "malformed", OBSBPF_ST_MALFORMED },
		{ "unmatched_response", OBSBPF_ST_RESP_UNMATCHED },
		{ "pipeline_full", OBSBPF_ST_PENDING_FULL },
		{ "head_too_large", OBSBPF_ST_HEAD_UNSCANNED },
		{ "retransmit", OBSBPF_ST_RETRANSMIT },
		{ "desync", OBSBPF_ST_MSG_DESYNC },
	};
	stat_samples(out, "obsbpf_http_messages_unparsed_total", "reason", why, ARRAY_LEN(why), l, s);
	counter(out, fmt, "obsbpf_trace_context_total",
		"Trace contexts handled in the kernel, by outcome: injected into a request, continued from a header or from the request the sending thread serves, started anew because no served request was known, or an invalid header treated as absent.");
	static const struct stat_label tr[] = {
		{ "injected", OBSBPF_ST_TRACE_INJECTED },
		{ "continued_header", OBSBPF_ST_TRACE_CONTINUED },
		{ "continued_thread", OBSBPF_ST_TRACE_THREAD },
		{ "new_uncorrelated", OBSBPF_ST_TRACE_UNCORRELATED },
		{ "invalid_header", OBSBPF_ST_TRACE_INVALID },
	};
	stat_samples(out, "obsbpf_trace_context_total", "outcome", tr, ARRAY_LEN(tr), l, s);
	counter(out, fmt, "obsbpf_trace_inject_skipped_total",
		"Requests that got no injected trace header, by reason: destination outside --inject-to, head (HTTP/2: HEADERS frame or block) not whole in one send, the kernel refused the insertion (the request passed unchanged), the HTTP/2 frame would pass the server's maximum frame size, sk_msg stopped following the connection's HTTP/2 frames, the request was sent inside TLS (seen at the library, never written) or on a connection found established at attach before its first answer, or --propagate sampled and its trace is not sampled.");
	static const struct stat_label sk[] = {
		{ "not_allowed", OBSBPF_ST_TRACE_NOT_ALLOWED },
		{ "head_split", OBSBPF_ST_TRACE_HEAD_SPLIT },
		{ "insert_failed", OBSBPF_ST_TRACE_INJECT_FAILED },
		{ "frame_size", OBSBPF_ST_TRACE_FRAME_SIZE },
		{ "h2_desync", OBSBPF_ST_H2_TX_DESYNC },
		{ "tls", OBSBPF_ST_TLS_NOT_INJECTED },
		{ "adopted", OBSBPF_ST_TRACE_ADOPTED },
		{ "not_sampled", OBSBPF_ST_TRACE_NOT_SAMPLED },
	};
	stat_samples(out, "obsbpf_trace_inject_skipped_total", "reason", sk, ARRAY_LEN(sk), l, s);
	counter(out, fmt, "obsbpf_events_read_total", "Request events read from the kernel ring buffer.");
	sample(out, "obsbpf_events_read_total", NULL, l, c->events_read);
	counter(out, fmt, "obsbpf_events_dropped_total",
		"Request events lost because the ring buffer was full.");
	sample(out, "obsbpf_events_dropped_total", NULL, l, s[OBSBPF_ST_EVENTS_DROPPED]);
	counter(out, fmt, "obsbpf_service_graph_other_total",
		"Served requests counted under client=\"other\" in the service graph: the table of client addresses (--max-graph-peers) was full.");
	sample(out, "obsbpf_service_graph_other_total", NULL, l, s[OBSBPF_ST_GRAPH_FULL]);
	http_expo_family(out, fmt, "obsbpf_routes", "gauge",
			 "Distinct http_route values in the kernel's route table.");
	sample(out, "obsbpf_routes", NULL, l, c->routes_used);
	http_expo_family(out, fmt, "obsbpf_routes_limit", "gauge",
			 "Size of the route table (--max-routes); later routes are \"_OTHER\".");
	sample(out, "obsbpf_routes_limit", NULL, l, c->routes_max);
	http_expo_family(
		out, fmt, "obsbpf_exemplar_series", "gauge",
		"Histogram series holding exemplars (trace ids of sampled requests) for OpenMetrics scrapes.");
	sample(out, "obsbpf_exemplar_series", NULL, l, c->exemplar_series);
	counter(out, fmt, "obsbpf_exemplars_dropped_total",
		"Sampled requests not kept as exemplars because every exemplar slot was in use.");
	sample(out, "obsbpf_exemplars_dropped_total", NULL, l, c->exemplars_dropped);
}
