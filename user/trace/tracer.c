// SPDX-License-Identifier: GPL-2.0
/* The tracer: kernel events become spans in a bounded queue; a batch leaves when it is full
 * or every --otlp-flush-ms; one request is in flight at a time, and a batch stays at the head
 * of the queue until the collector took it, so a collector outage costs retries, not spans,
 * until the queue is full. */
#include "internal.h"

#include "pod/workload.h"
#include "util/log.h"
#include "util/backoff.h"

#include "h2/h2.h"
#include "loop/loop.h"
#include "http/server.h"
#include "metrics/red.h"
#include "util/clock.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_RESOURCES 1024
#define RETRY_BASE_MS 200
#define STOP_FLUSH_MS 2000

struct tracer {
	struct loop *loop;
	struct transport *tp;
	struct otlp_target target;
	struct span_queue q;
	struct otlp_scratch enc;
	struct otlp_attr res_attrs[OTLP_MAX_RES_ATTRS]; /* OTEL_RESOURCE_ATTRIBUTES */
	size_t batch;
	unsigned flush_ms;
	unsigned backoff_max_ms;   /* --otlp-backoff-max-ms */
	struct clock_offset clock; /* monotonic event times -> wall clock */
	struct span_resource res[MAX_RESOURCES];
	bool res_given[MAX_RESOURCES]; /* service.name given (--service-name), not the workload's */
	size_t nres, last_res;
	struct loop_watch *flush_timer, *retry_timer;
	bool busy, retry_pending;
	size_t inflight;
	unsigned attempt; /* failed tries of the batch at the head */
	bool failing;	  /* logged that the collector fails (once per outage); log its recovery */
	/* counters */
	uint64_t exported, not_sampled, drop_queue_full, drop_rejected, drop_failed;
	uint64_t kernel_not_sampled; /* counted by the kernel, which sent no event */
	uint64_t req_ok, req_partial, req_retry, req_failed, retries, no_resource;
};

static const char *target_str(const struct tracer *t, char *buf, size_t n)
{
	if (t->target.grpc)
		snprintf(buf, n, "grpc%s %s:%s", t->target.tls ? " (TLS)" : "", t->target.host,
			 t->target.port);
	else
		snprintf(buf, n, "%s", t->target.url);
	return buf;
}

static void export_now(struct tracer *t);

static void on_retry(void *arg)
{
	struct tracer *t = arg;
	t->retry_pending = false;
	t->retries++;
	export_now(t);
}

static void log_failure(struct tracer *t, const struct export_result *r, const char *what)
{
	char tgt[600];
	log_error("trace", "otlp %s: %s%s\n", target_str(t, tgt, sizeof(tgt)), r->detail, what);
}

static void export_done(void *arg, const struct export_result *r)
{
	struct tracer *t = arg;
	size_t n = t->inflight;
	t->busy = false;
	t->inflight = 0;
	switch (r->outcome) {
	case EXPORT_OK: {
		uint64_t rej = r->rejected > 0 ? (uint64_t)r->rejected : 0;
		if (rej > n)
			rej = n;
		squeue_pop(&t->q, n);
		t->exported += n - rej;
		t->drop_rejected += rej;
		if (rej) {
			if (!t->req_partial++)
				log_failure(t, r,
					    " (logged once; counted in obsbpf_trace_spans_dropped_total)");
		} else {
			t->req_ok++;
		}
		if (t->failing) {
			char tgt[600];
			log_info("trace", "otlp %s: delivering again\n", target_str(t, tgt, sizeof(tgt)));
		}
		t->failing = false;
		t->attempt = 0;
		if (t->q.len >= t->batch)
			export_now(t);
		return;
	}
	case EXPORT_RETRY: {
		t->req_retry++;
		t->attempt++;
		if (!t->failing)
			log_failure(t, r, " (spans kept, retrying)");
		t->failing = true;
		uint64_t d = retry_delay_ms(t->attempt, RETRY_BASE_MS, t->backoff_max_ms, r->retry_after_ms,
					    backoff_rnd());
		t->retry_pending = loop_timer_rearm(t->retry_timer, d, 0) == 0;
		if (!t->retry_pending)
			t->retries++; /* cannot wait: the flush timer tries again */
		return;
	}
	case EXPORT_FAIL:
		t->req_failed++;
		squeue_pop(&t->q, n);
		t->drop_failed += n;
		t->attempt = 0;
		/* A collector that refuses everything (a wrong URL) would log a line per batch. */
		if (!t->failing)
			log_failure(t, r, " (batch dropped)");
		t->failing = true;
		return;
	}
}

static void export_now(struct tracer *t)
{
	if (t->busy || t->retry_pending || !t->q.len)
		return;
	size_t n = t->q.len < t->batch ? t->q.len : t->batch;
	const struct span **v = malloc(n * sizeof(*v));
	const uint8_t *buf = NULL;
	size_t len = 0;
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = squeue_at(&t->q, i);
	int rc = otlp_encode(&t->enc, v, n, t->res, t->nres, &buf, &len);
	free(v);
	if (rc < 0)
		return; /* out of memory: the next flush tries again */
	t->busy = true;
	t->inflight = n;
	rc = t->tp->send(t->tp, buf, len, export_done, t); /* buf: t->enc's, kept */
	if (rc < 0) {
		t->busy = false;
		t->inflight = 0;
	}
}

static void on_flush(void *arg)
{
	export_now(arg);
}

void tracer_set_url_query_keep(bool keep)
{
	span_set_url_query_keep(keep);
}

static bool same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* service.name defaults to the pod's workload (pod/workload.h): the table stores it resolved;
 * a resource is the same when its pod and override are. */
static bool same_resource(const struct span_resource *c, bool c_given, const struct span_resource *r)
{
	return same(c->pod, r->pod) && same(c->namespace_, r->namespace_) && same(c->node, r->node) &&
		(r->service ? c_given && same(c->service, r->service) : !c_given);
}

static int resource_index(struct tracer *t, const struct span_resource *r)
{
	if (t->last_res < t->nres && same_resource(&t->res[t->last_res], t->res_given[t->last_res], r))
		return (int)t->last_res;
	for (size_t i = 0; i < t->nres; i++)
		if (same_resource(&t->res[i], t->res_given[i], r))
			return (int)(t->last_res = i);
	if (t->nres == MAX_RESOURCES)
		return -1;
	struct span_resource *n = &t->res[t->nres];
	char wl[256];
	pod_workload_name(r->pod ? r->pod : "", wl, sizeof(wl));
	n->service = strdup(r->service ? r->service : wl);
	t->res_given[t->nres] = r->service != NULL;
	n->pod = strdup(r->pod ? r->pod : "");
	n->namespace_ = strdup(r->namespace_ ? r->namespace_ : "");
	n->node = strdup(r->node ? r->node : "");
	if (!n->service || !n->pod || !n->namespace_ || !n->node) {
		free((char *)n->service), free((char *)n->pod), free((char *)n->namespace_),
			free((char *)n->node);
		memset(n, 0, sizeof(*n));
		return -1;
	}
	return (int)(t->last_res = t->nres++);
}

/* The queue's next slot for a span of resource r, or NULL (counted) when r is one too many or
 * the queue is full. The span is built there (a span is ≈ 700 bytes: no copy through the
 * stack), then committed. */
static struct span *enqueue_slot(struct tracer *t, const struct span_resource *r, uint16_t *res)
{
	int ri = resource_index(t, r);
	if (ri < 0) {
		t->no_resource++;
		return NULL;
	}
	*res = (uint16_t)ri;
	struct span *s = squeue_slot(&t->q);
	if (!s)
		t->drop_queue_full++;
	return s;
}

static void enqueue_commit(struct tracer *t, struct span *s, uint16_t res)
{
	s->res = res;
	squeue_commit(&t->q);
	if (t->q.len >= t->batch)
		export_now(t);
}

void tracer_add(struct tracer *t, const struct obsbpf_http_event *e, const struct span_resource *r,
		const char *route)
{
	if (!t || e->trace.origin == OBSBPF_TO_NONE)
		return;
	if (!(e->trace.flags & OBSBPF_TRACE_SAMPLED)) {
		t->not_sampled++;
		return;
	}
	uint16_t res;
	struct span *s = enqueue_slot(t, r, &res);
	if (!s)
		return;
	span_from_event(s, e, route, clock_offset_at(&t->clock, e->end_ns), res);
	enqueue_commit(t, s, res);
}

void tracer_set_kernel_not_sampled(struct tracer *t, uint64_t n)
{
	if (t)
		t->kernel_not_sampled = n;
}

void tracer_add_exchange(struct tracer *t, const struct h2_exchange *x, const struct obsbpf_trace *tr,
			 const char *route, const struct span_resource *r)
{
	if (!t || tr->origin == OBSBPF_TO_NONE)
		return;
	if (!(tr->flags & OBSBPF_TRACE_SAMPLED)) {
		t->not_sampled++;
		return;
	}
	uint16_t res;
	struct span *s = enqueue_slot(t, r, &res);
	if (!s)
		return;
	span_from_exchange(s, x, tr, route, clock_offset_at(&t->clock, x->end_ns));
	enqueue_commit(t, s, res);
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

int tracer_start(const struct obsbpf_config *cfg, struct loop *l, struct tracer **out)
{
	struct otlp_target tg;
	*out = NULL;
	int rc = otlp_target_resolve(
		&tg, cfg->otlp_endpoint, cfg->otlp_protocol, getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
		getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL"));
	if (rc <= 0)
		return rc < 0 ? -1 : 0; /* wrong (logged), or off */
	unsigned timeout_ms;
	if (otlp_timeout_resolve(cfg->otlp_timeout_ms, env_get, &timeout_ms) < 0)
		return -1;
	if (!cfg->otlp_batch || !cfg->otlp_queue || cfg->otlp_batch > cfg->otlp_queue ||
	    !cfg->otlp_flush_ms) {
		log_error("trace",
			  "--otlp-batch %u, --otlp-queue %u, --otlp-flush-ms %u, --otlp-timeout-ms %u: "
			  "need 0 < batch <= queue and non-zero times\n",
			  cfg->otlp_batch, cfg->otlp_queue, cfg->otlp_flush_ms, timeout_ms);
		return -1;
	}
	struct otlp_export_opts *opts = malloc(sizeof(*opts)); /* 35 KB: not on the stack */
	if (!opts) {
		log_error("trace", "span exporter: out of memory\n");
		return -1;
	}
	if (otlp_export_opts_resolve(opts, cfg, tg.tls, env_get) < 0) {
		free(opts);
		return -1;
	}
	struct tracer *t = calloc(1, sizeof(*t));
	if (!t) {
		free(opts);
		log_error("trace", "span exporter: out of memory\n");
		return -1;
	}
	const char *why;
	size_t nattrs;
	if (otel_resource_attrs_parse(getenv("OTEL_RESOURCE_ATTRIBUTES"), t->res_attrs, OTLP_MAX_RES_ATTRS,
				      &nattrs, &why) < 0) {
		log_error("trace", "OTEL_RESOURCE_ATTRIBUTES: %s\n", why);
		free(opts);
		free(t);
		return -1;
	}
	t->enc.extra = t->res_attrs;
	t->enc.nextra = nattrs;
	t->loop = l;
	t->target = tg;
	t->batch = cfg->otlp_batch;
	t->flush_ms = cfg->otlp_flush_ms;
	t->backoff_max_ms =
		cfg->otlp_backoff_max_ms > RETRY_BASE_MS ? cfg->otlp_backoff_max_ms : RETRY_BASE_MS;
	if (squeue_init(&t->q, cfg->otlp_queue) < 0)
		goto fail;
	t->tp = tg.grpc ? otlp_grpc_new(l, tg.host, tg.port, timeout_ms, opts)
			: otlp_http_new(l, tg.url, timeout_ms, opts);
	free(opts);
	opts = NULL;
	if (!t->tp && errno == EINVAL) { /* the options: said already */
		tracer_stop(t);
		return -1;
	}
	if (!t->tp)
		goto fail;
	/* The retry timer is created disarmed-in-effect: far away, rearmed when needed. */
	t->retry_timer = loop_add_timer(l, 365ull * 24 * 3600 * 1000, 0, on_retry, t);
	t->flush_timer = loop_add_timer(l, t->flush_ms, t->flush_ms, on_flush, t);
	if (!t->retry_timer || !t->flush_timer)
		goto fail;
	char tgt[600];
	log_info("trace", "exporting spans to %s\n", target_str(t, tgt, sizeof(tgt)));
	*out = t;
	return 0;
fail:
	free(opts);
	log_error("trace", "span exporter: %s\n", strerror(errno ? errno : ENOMEM));
	tracer_stop(t);
	return -1;
}

void tracer_stop(struct tracer *t)
{
	if (!t)
		return;
	loop_remove(t->flush_timer);
	t->flush_timer = NULL;
	if (t->tp && t->q.len) {
		/* One last try for what is queued, without waiting out a backoff; bounded in time. */
		uint64_t deadline = loop_now_ns() + STOP_FLUSH_MS * 1000000ull;
		t->retry_pending = false;
		export_now(t);
		while (t->q.len && loop_now_ns() < deadline) {
			if (!t->busy) {
				if (t->attempt)
					break; /* the collector is failing: do not hammer it while exiting */
				export_now(t);
			}
			loop_run_once(t->loop, 50);
		}
		if (t->q.len) {
			char tgt[600];
			log_warn("trace", "otlp %s: %zu spans not delivered at shutdown\n",
				 target_str(t, tgt, sizeof(tgt)), t->q.len);
		}
	}
	loop_remove(t->retry_timer);
	if (t->tp)
		t->tp->free(t->tp);
	squeue_free(&t->q);
	otlp_scratch_free(&t->enc);
	for (size_t i = 0; i < t->nres; i++) {
		free((char *)t->res[i].service), free((char *)t->res[i].pod);
		free((char *)t->res[i].namespace_), free((char *)t->res[i].node);
	}
	free(t);
}

void tracer_render_metrics(struct tracer *t, struct strbuf *out, enum exposition_format fmt,
			   const struct pod_labels *l)
{
	if (!t)
		return;
	http_expo_family(out, fmt, "obsbpf_trace_spans_exported_total", "counter",
			 "Spans the OTLP collector accepted.");
	red_sample(out, "obsbpf_trace_spans_exported_total", NULL, l, t->exported);
	http_expo_family(
		out, fmt, "obsbpf_trace_spans_dropped_total", "counter",
		"Sampled spans that were not delivered, by reason: the queue was full (collector down or "
		"slow), the collector rejected them (partial success), or refused the whole request for good.");
	red_sample(out, "obsbpf_trace_spans_dropped_total", "reason=\"queue_full\"", l, t->drop_queue_full);
	red_sample(out, "obsbpf_trace_spans_dropped_total", "reason=\"rejected\"", l, t->drop_rejected);
	red_sample(out, "obsbpf_trace_spans_dropped_total", "reason=\"export_failed\"", l, t->drop_failed);
	red_sample(out, "obsbpf_trace_spans_dropped_total", "reason=\"too_many_resources\"", l,
		   t->no_resource);
	http_expo_family(
		out, fmt, "obsbpf_trace_spans_not_sampled_total", "counter",
		"Requests with trace context whose trace is not sampled: no span exported, by design.");
	red_sample(out, "obsbpf_trace_spans_not_sampled_total", NULL, l,
		   t->not_sampled + t->kernel_not_sampled);
	http_expo_family(
		out, fmt, "obsbpf_trace_export_requests_total", "counter",
		"OTLP export requests by result: ok, partial (some spans rejected), retry (will be sent "
		"again), failed (batch dropped).");
	red_sample(out, "obsbpf_trace_export_requests_total", "result=\"ok\"", l, t->req_ok);
	red_sample(out, "obsbpf_trace_export_requests_total", "result=\"partial\"", l, t->req_partial);
	red_sample(out, "obsbpf_trace_export_requests_total", "result=\"retry\"", l, t->req_retry);
	red_sample(out, "obsbpf_trace_export_requests_total", "result=\"failed\"", l, t->req_failed);
	http_expo_family(
		out, fmt, "obsbpf_trace_export_retries_total", "counter",
		"Export requests sent again after a retryable failure (after backoff or Retry-After).");
	red_sample(out, "obsbpf_trace_export_retries_total", NULL, l, t->retries);
	http_expo_family(out, fmt, "obsbpf_trace_queue_spans", "gauge", "Spans waiting to be exported.");
	red_sample(out, "obsbpf_trace_queue_spans", NULL, l, t->q.len);
	http_expo_family(out, fmt, "obsbpf_trace_queue_capacity", "gauge",
			 "Spans the export queue holds (--otlp-queue).");
	red_sample(out, "obsbpf_trace_queue_capacity", NULL, l, t->q.cap);
}
