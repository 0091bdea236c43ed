/* SPDX-License-Identifier: GPL-2.0 */
/* Spans from the kernel's request events, exported to an OpenTelemetry collector with OTLP
 * (HTTP/protobuf through libcurl, or gRPC over HTTP/2 through nghttp2), on the agent's loop.
 * Spans are queued (bounded), sent in batches, retried with backoff while the collector is
 * unreachable or busy; every span that is not delivered is counted. */
#ifndef OBSBPF_TRACE_H
#define OBSBPF_TRACE_H

#include <obsbpf/types.h>

#include "config.h"

struct loop;
struct strbuf;
struct tracer;
struct datapath;
struct pod_labels;

/* The OTel resource of a span: which service in which pod produced it. */
struct span_resource {
	const char *service; /* service.name; NULL: the pod's workload (pod/workload.h) */
	const char *pod;     /* k8s.pod.name */
	const char *namespace_;
	const char *node;
};

/* --url-query keep: spans keep the request's query (url.query, url.full); else stripped. */
void tracer_set_url_query_keep(bool keep);

/* Starts the exporter into *out: 0 with *out set; 0 with *out NULL when tracing is off (no
 * endpoint configured); -1 after logging one line when the options are wrong or memory ran
 * out. */
int tracer_start(const struct obsbpf_config *cfg, struct loop *l, struct tracer **out);
/* One kernel event; route is the templated http.route, or NULL when unknown. Events without
 * trace context are ignored, unsampled ones counted. Never blocks. */
void tracer_add(struct tracer *t, const struct obsbpf_http_event *e, const struct span_resource *r,
		const char *route);
/* One HTTP/2 exchange (user/h2) with the span context tr made for it (origin NONE: no span);
 * route: the templated :path for HTTP/2, NULL for gRPC calls (named by service and method). */
struct h2_exchange;
void tracer_add_exchange(struct tracer *t, const struct h2_exchange *x, const struct obsbpf_trace *tr,
			 const char *route, const struct span_resource *r);
/* Exchanges of unsampled traces that the kernel counted and sent no event for (a running
 * total): part of obsbpf_trace_spans_not_sampled_total. */
void tracer_set_kernel_not_sampled(struct tracer *t, uint64_t n);
/* obsbpf_trace_* families. */
enum exposition_format;
void tracer_render_metrics(struct tracer *t, struct strbuf *out, enum exposition_format fmt,
			   const struct pod_labels *l);
/* Tries to deliver what is queued for a short while (running the loop), then frees everything. */
void tracer_stop(struct tracer *t);

/* The agent's ring-buffer callback (a dp_event_fn): resolves the event's route id through a
 * small cache of the kernel's route table, then calls tracer_add with the pod's resource. */
#define TRACER_ROUTE_CACHE 64
struct tracer_feed {
	struct tracer *t;
	struct datapath *dp;
	struct span_resource res;
	unsigned n, next; /* cache fill, and the slot the next new route replaces */
	struct {
		uint32_t id;
		char route[OBSBPF_ROUTE_LEN + 8];
	} cache[TRACER_ROUTE_CACHE];
};
void tracer_feed_event(void *arg, const struct obsbpf_http_event *e);

/* attach's default service.name from the environment: $OTEL_SERVICE_NAME, else service.name
 * in $OTEL_RESOURCE_ATTRIBUTES (percent-decoded); NULL when neither says. env: getenv. */
const char *otel_service_name_env(const char *(*env)(const char *));

#endif
