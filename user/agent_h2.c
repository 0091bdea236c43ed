// SPDX-License-Identifier: GPL-2.0
/* The agent's HTTP/2 part: the kernel's h2_events into the decoder (user/h2), and each exchange
 * it ends into the duration histograms (HTTP/2 beside HTTP/1, gRPC in the rpc_* families), a
 * span, and an `obsbpf observe` line. The kernel times the frames; what they mean (method, path,
 * status, gRPC status, trace context) is HPACK-encoded and only known here. */
#include "agent_h2.h"
#include "agent_status.h"

#include "bpf/datapath.h"
#include "ctl/ctl.h"
#include "h2/h2.h"
#include "metrics/graph_store.h"
#include "metrics/hist_store.h"
#include "metrics/route.h"
#include "metrics/value_cap.h"
#include "trace/trace.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define H2_MAX_SERIES 16384 /* as many as the kernel's http_hist holds */

enum {
	CAP_ROUTE = 0,
	CAP_RPC
};

struct agent_h2 {
	struct agent *a;
	struct h2_tracker *t;
	struct hist_store *hist;
	struct graph_store *graph; /* the service graph's views (NULL: --max-graph-peers 0) */
	struct value_cap *cap;
	uint32_t propagation;	      /* 0: tracing off, no span contexts */
	uint64_t sample_threshold;    /* a new trace is sampled when a random u32 is below it */
	uint64_t rnd;		      /* xorshift64 state, for trace and span ids */
	uint64_t reset_unanswered[2]; /* plain HTTP/2 streams reset before a response: [dir] */
	uint64_t unseen_by_kernel;    /* requests whose traceparent the kernel's scan missed */
};

static uint64_t next_rnd(struct agent_h2 *h)
{
	uint64_t x = h->rnd;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return h->rnd = x;
}

static void rnd_bytes(struct agent_h2 *h, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = next_rnd(h);
		memcpy(p + i, &r, n - i < 8 ? n - i : 8);
	}
}

/* The span's context: the kernel's, which it propagated (inserted into the request it saw
 * leave, or bound to the thread that read the request it saw arrive). Where the kernel made a
 * new trace for a request whose traceparent only HPACK decoding shows (a field the peer's
 * encoder took whole from its table), the span continues that one and keeps the kernel's span
 * id: the upstream link is kept, the in-process one is lost, and counted. Without the kernel's
 * (tracing off there, or a block it could not read), as the kernel does: continued or new. */
static void span_context(struct agent_h2 *h, const struct h2_exchange *x, struct obsbpf_trace *t)
{
	memset(t, 0, sizeof(*t));
	if (!h->propagation)
		return;
	if (x->kernel.origin != OBSBPF_TO_NONE) {
		*t = x->kernel;
		/* (A client's request carries the traceparent the kernel wrote: its own.) */
		if (x->dir == OBSBPF_DIR_SERVER && x->kernel.origin == OBSBPF_TO_NEW && x->has_traceparent) {
			memcpy(t->trace_id, x->parent.trace_id, sizeof(t->trace_id));
			memcpy(t->parent_id, x->parent.parent_id, sizeof(t->parent_id));
			t->flags = x->parent.flags;
			t->origin = OBSBPF_TO_HEADER;
			h->unseen_by_kernel++;
		}
		return;
	}
	if (x->has_traceparent) {
		memcpy(t->trace_id, x->parent.trace_id, sizeof(t->trace_id));
		memcpy(t->parent_id, x->parent.parent_id, sizeof(t->parent_id));
		t->flags = x->parent.flags;
		t->origin = OBSBPF_TO_HEADER;
	} else {
		rnd_bytes(h, t->trace_id, sizeof(t->trace_id));
		t->trace_id[15] |= 1; /* never all zero */
		t->flags = (next_rnd(h) & 0xffffffffu) < h->sample_threshold ? OBSBPF_TRACE_SAMPLED : 0;
		t->origin = OBSBPF_TO_NEW;
	}
	rnd_bytes(h, t->span_id, sizeof(t->span_id));
	t->span_id[7] |= 1;
}

static int64_t unix_ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* HTTP/2's methods are HTTP's; outside the known set they count as "_OTHER" (semconv). */
static const char *method_label(const char *m)
{
	for (unsigned i = 1; i < OBSBPF_M_MAX; i++)
		if (!strcmp(m, red_method_name(i)))
			return m;
	return "_OTHER";
}

void agent_h2_exchange(void *arg, const struct h2_exchange *x)
{
	struct agent_h2 *h = arg;
	struct agent *a = h->a;
	const struct agent_pod *ap = agent_pod(a, x->pod_id);
	if (!ap)
		return;
	struct obsbpf_trace t;
	span_context(h, x, &t);
	char route[H2_PATH_LEN + 8] = "", svc[96] = "_OTHER", meth[64] = "_OTHER";
	struct strbuf l;
	sb_init(&l);
	int grpc = -1;
	enum hist_family f;
	if (x->grpc) {
		grpc = h2_grpc_status(x);
		/* The rpc method as the path names it ("/package.Service/Method"), bounded per pod. */
		char both[H2_PATH_LEN];
		const char *p = value_cap_get(h->cap, x->pod_id, CAP_RPC, x->path);
		snprintf(both, sizeof(both), "%s", p);
		const char *slash = both[0] == '/' ? strchr(both + 1, '/') : NULL;
		if (slash && slash > both + 1 && slash[1] && !strchr(slash + 1, '/')) {
			snprintf(svc, sizeof(svc), "%.*s", (int)(slash - both - 1), both + 1);
			snprintf(meth, sizeof(meth), "%s", slash + 1);
		}
		sb_puts(&l, "rpc_system=\"grpc\",rpc_service=\"");
		sb_label_value(&l, svc);
		sb_puts(&l, "\",rpc_method=\"");
		sb_label_value(&l, meth);
		sb_printf(&l, "\",rpc_grpc_status_code=\"%d\"", grpc);
		f = x->dir == OBSBPF_DIR_SERVER ? HF_RPC_SERVER : HF_RPC_CLIENT;
	} else {
		char tmpl[H2_PATH_LEN + 8];
		route_template(x->path, tmpl, sizeof(tmpl));
		snprintf(route, sizeof(route), "%s", value_cap_get(h->cap, x->pod_id, CAP_ROUTE, tmpl));
		char ver[8], addr[INET6_ADDRSTRLEN] = "";
		snprintf(ver, sizeof(ver), x->version == 1 ? "1.%u" : "2", x->minor);
		if (x->has_addrs)
			red_addr_str(x->addrs.family, x->addrs.remote, addr, sizeof(addr));
		struct red_http rh = { .dir = x->dir,
				       .method = method_label(x->method),
				       .status = x->status,
				       .route = route,
				       .version = ver,
				       .server_address = x->has_addrs ? addr : NULL,
				       .server_port = x->addrs.remote_port,
				       .tls = x->tls };
		red_http_labels(&l, &rh);
		f = x->dir == OBSBPF_DIR_SERVER ? HF_HTTP_SERVER : HF_HTTP_CLIENT;
	}
	/* A plain HTTP/2 request reset before any response has no status to count under. */
	if (!x->grpc && !x->status)
		h->reset_unanswered[x->dir & 1]++;
	else if (!l.oom)
		hist_store_record(h->hist, x->pod_id, f, l.buf, x->end_ns - x->start_ns, &t, unix_ms_now());
	sb_free(&l);
	if (h->graph) /* a reset before any response counts as failed */
		graph_store_record(h->graph, x->pod_id, x->dir, x->has_addrs ? &x->addrs : NULL,
				   (!x->grpc && !x->status) || red_failed(x->dir, x->grpc, grpc, x->status),
				   x->end_ns - x->start_ns);

	if (a->spans && a->spans->t) {
		struct span_resource r = { a->cfg->service_name, ap->info.name, ap->info.namespace_,
					   ap->info.node };
		tracer_add_exchange(a->spans->t, x, &t, x->grpc ? NULL : route, &r);
	}
	if (!ctl_server_observers(a->ctl))
		return;
	struct observed o = {
		.start_ns = x->start_ns,
		.end_ns = x->end_ns,
		.dir = x->dir,
		.addrs = x->has_addrs ? &x->addrs : NULL,
		.protocol = x->grpc	  ? (x->tls ? "grpc+tls" : "grpc")
			: x->version == 1 ? "https"
			: x->tls	  ? "h2+tls"
					  : "h2",
		.method = x->grpc ? "grpc" : method_label(x->method),
		.route = x->grpc ? x->path : route,
		.status = x->status,
		.grpc_status = grpc,
		.trace = &t,
	};
	struct strbuf b;
	sb_init(&b);
	agent_observed_json(a, &o, ap, &b);
	if (!b.oom)
		ctl_server_publish(a->ctl, ap->info.name, b.buf, b.len);
	sb_free(&b);
}

static void on_h2_event(void *arg, const void *data, size_t len)
{
	struct agent_h2 *h = arg;
	h2_tracker_event(h->t, data, len);
}

int agent_h2_start(struct agent *a, const struct obsbpf_trace_cfg *tc)
{
	struct agent_h2 *h = calloc(1, sizeof(*h));
	if (!h)
		goto oom;
	a->h2 = h;
	h->a = a;
	h->propagation = tc->propagation;
	h->sample_threshold = tc->sample_threshold;
	if (getrandom(&h->rnd, sizeof(h->rnd), 0) != sizeof(h->rnd) || !h->rnd)
		h->rnd = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull | 1;
	struct h2_limits lim = H2_DEFAULT_LIMITS;
	lim.max_conns = a->cfg->max_h2_conns;
	h->t = h2_tracker_new(&lim, agent_h2_exchange, h);
	h->hist = hist_store_new(H2_MAX_SERIES);
	h->cap = value_cap_new(a->cfg->max_routes);
	if (a->cfg->max_graph_peers && !(h->graph = graph_store_new(a->cfg->max_graph_peers)))
		goto oom;
	if (!h->t || !h->hist || !h->cap)
		goto oom;
	int err = datapath_watch_h2(a->dp, on_h2_event, h);
	if (err < 0) {
		log_error("agent", "HTTP/2 ring buffer: %s\n", strerror(-err));
		return -1;
	}
	return 0;
oom:
	log_error("agent", "HTTP/2 decoder: out of memory\n");
	return -1;
}

void agent_h2_stop(struct agent *a)
{
	struct agent_h2 *h = a->h2;
	if (!h)
		return;
	h2_tracker_free(h->t);
	hist_store_free(h->hist);
	graph_store_free(h->graph);
	value_cap_free(h->cap);
	free(h);
	a->h2 = NULL;
}

void agent_h2_forget_pod(struct agent *a, uint32_t pod_id)
{
	struct agent_h2 *h = a->h2;
	if (!h)
		return;
	h2_tracker_forget_pod(h->t, pod_id);
	hist_store_forget_pod(h->hist, pod_id);
	if (h->graph)
		graph_store_forget_pod(h->graph, pod_id);
	value_cap_forget_pod(h->cap, pod_id);
}

void agent_h2_counters(const struct agent *a, struct agent_counters *c)
{
	if (!a->h2)
		return;
	const struct h2_stats *st = h2_tracker_stats(a->h2->t);
	/* The kernel counts its own reasons (gap, malformed, events, budget) itself. */
	c->h2_hpack = st->dropped[H2_DROP_HPACK];
	c->h2_block = st->dropped[H2_DROP_BLOCK];
	c->h2_order = st->dropped[H2_DROP_SEQUENCE];
	c->h2_limit = st->dropped[H2_DROP_LIMIT];
}

struct h2_tracker *agent_h2_tracker(struct agent *a)
{
	return a->h2 ? a->h2->t : NULL;
}

const struct hist_store *agent_h2_hist(const struct agent *a)
{
	return a->h2 ? a->h2->hist : NULL;
}

const struct graph_store *agent_h2_graph(const struct agent *a)
{
	return a->h2 ? a->h2->graph : NULL;
}

void agent_h2_render_counters(const struct agent *a, struct strbuf *out, enum exposition_format fmt,
			      const struct pod_labels *l)
{
	const struct agent_h2 *h = a->h2;
	if (!h)
		return;
	const struct h2_stats *st = h2_tracker_stats(h->t);
	http_expo_family(out, fmt, "obsbpf_h2_connections_decoded", "gauge",
			 "HTTP/2 connections whose frames are being decoded.");
	red_sample(out, "obsbpf_h2_connections_decoded", NULL, l, st->conns);
	http_expo_family(
		out, fmt, "obsbpf_h2_streams_unmeasured_total", "counter",
		"HTTP/2 request streams not measured: beyond the streams followed per connection "
		"(untracked), open when their connection was dropped or forgotten, or closed with a gRPC "
		"call or a response under way (unfinished), or "
		"reset before any response status (reset).");
	red_sample(out, "obsbpf_h2_streams_unmeasured_total", "reason=\"untracked\"", l,
		   st->streams_untracked);
	red_sample(out, "obsbpf_h2_streams_unmeasured_total", "reason=\"unfinished\"", l,
		   st->streams_unfinished);
	red_sample(out, "obsbpf_h2_streams_unmeasured_total", "reason=\"reset\"", l,
		   h->reset_unanswered[0] + h->reset_unanswered[1]);
	http_expo_family(
		out, fmt, "obsbpf_h2_series_dropped_total", "counter",
		"HTTP/2 and gRPC requests not counted because the histogram series limit was reached.");
	red_sample(out, "obsbpf_h2_series_dropped_total", NULL, l, hist_store_dropped(h->hist));
}
