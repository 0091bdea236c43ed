/* `obsbpf attach`: the agent's start-up and shutdown sequence, and its own endpoints. */
#include "agent.h"

#include "appmetrics/appmetrics.h"
#include "bpf/datapath.h"
#include "bpf/probe.h"
#include "bpf/trace_cfg.h"
#include "http/server.h"
#include "logs/logs.h"
#include "loop/loop.h"
#include "metrics/exemplars.h"
#include "metrics/red.h"
#include "trace/trace.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOOP_STALL_NS (5ull * 1000000000ull)
#define EXEMPLAR_MAX_SERIES 16384 /* http_hist's max_entries: one exemplar set per series */

static struct pod_labels labels_of(const struct agent *a)
{
	return (struct pod_labels){ a->pod.name, a->pod.namespace_, a->pod.node };
}

static void collect_datapath(void *arg, struct strbuf *out, enum exposition_format fmt)
{
	struct agent *a = arg;
	struct pod_labels l = labels_of(a);
	struct dp_hist_entry *h = NULL;
	struct dp_route *r = NULL;
	struct agent_counters c = { 0 };
	int nh = datapath_read_hist(a->dp, &h);
	int nr = datapath_read_routes(a->dp, &r);

	if (nh >= 0)
		exemplars_retain(a->exemplars, h, nh);
	if (nh >= 0 && nr >= 0)
		red_render(out, fmt, &l, h, nh, r, nr, a->exemplars);
	datapath_read_stats(a->dp, c.stats);
	c.events_read = datapath_events_read(a->dp);
	c.routes_used = nr > 0 ? (unsigned)nr : 0;
	c.routes_max = datapath_max_routes(a->dp);
	c.exemplar_series = exemplars_series(a->exemplars);
	c.exemplars_dropped = exemplars_dropped(a->exemplars);
	agent_counters_render(out, fmt, &l, &c);
	free(h);
	free(r);
}

static void on_event(void *arg, const struct obsbpf_http_event *e)
{
	struct agent *a = arg;
	exemplars_record(a->exemplars, e);
	if (a->spans && a->spans->t)
		tracer_feed_event(a->spans, e);
}

static bool ready_datapath(void *arg, struct strbuf *why)
{
	struct agent *a = arg;
	if (datapath_attached(a->dp))
		return true;
	sb_puts(why, "BPF programs are not attached");
	return false;
}

static bool ready_loop(void *arg, struct strbuf *why)
{
	struct agent *a = arg;
	uint64_t idle = loop_now_ns() - loop_last_turn_ns(a->loop);
	if (idle < LOOP_STALL_NS)
		return true;
	sb_printf(why, "event loop has not turned for %llu ms", (unsigned long long)(idle / 1000000));
	return false;
}

static int handle_status(void *arg, struct strbuf *b, const char **ctype)
{
	struct agent *a = arg;
	const struct dp_iface *ifs;
	int n = datapath_ifaces(a->dp, &ifs);
	uint64_t st[OBSBPF_ST_MAX] = { 0 };
	struct dp_route *r = NULL;
	int nr = datapath_read_routes(a->dp, &r);
	free(r);
	datapath_read_stats(a->dp, st);

	*ctype = "application/json";
	sb_puts(b, "{\"pods\":[{\"name\":\"");
	sb_json_str(b, a->pod.name);
	sb_puts(b, "\",\"namespace\":\"");
	sb_json_str(b, a->pod.namespace_);
	sb_puts(b, "\",\"cgroup\":\"");
	sb_json_str(b, a->pod.cgroup_path);
	sb_puts(b, "\",\"netns\":\"");
	sb_json_str(b, a->pod.netns_path);
	sb_puts(b, "\",\"interfaces\":[");
	for (int i = 0; i < n; i++) {
		sb_printf(b, "%s\"", i ? "," : "");
		sb_json_str(b, ifs[i].name);
		sb_putc(b, '"');
	}
	sb_printf(b, "]}],\"node\":\"");
	sb_json_str(b, a->pod.node);
	sb_printf(b, "\",\"programs\":[\"sockops\",\"sk_msg\",\"tc_ingress\"],\"attached\":%s,"
		     "\"routes\":{\"used\":%d,\"max\":%u},\"events_read\":%llu,\"events_dropped\":%llu}\n",
		  datapath_attached(a->dp) ? "true" : "false", nr < 0 ? 0 : nr, datapath_max_routes(a->dp),
		  (unsigned long long)datapath_events_read(a->dp),
		  (unsigned long long)st[OBSBPF_ST_EVENTS_DROPPED]);
	return 200;
}

static int start_http(struct agent *a)
{
	const struct obsbpf_config *cfg = a->cfg;
	struct http_server_opts o = {
		.listen = cfg->listen,
		.idle_timeout_s = cfg->http_idle_timeout,
		.max_connections = cfg->http_max_conns,
		.max_per_ip = cfg->http_max_conns < 8 ? cfg->http_max_conns : 8,
		.verbose = cfg->verbose,
	};
	a->http = http_server_start(&o, a->loop);
	if (!a->http)
		return -1;
	http_server_add_collector(a->http, collect_datapath, a);
	http_server_add_ready_check(a->http, "datapath", ready_datapath, a);
	http_server_add_ready_check(a->http, "event_loop", ready_loop, a);
	http_server_add_handler(a->http, "/status", handle_status, a);
	return 0;
}

int agent_attach(const struct obsbpf_config *cfg)
{
	struct agent a = { .cfg = cfg };
	struct appmetrics *app = NULL;
	struct logs *logs = NULL;
	struct tracer_feed spans = { 0 };
	int rc = 1;

	const char *why = probe_required();
	if (why) {
		fprintf(stderr, "obsbpf: attach: %s\n", why);
		return 1;
	}
	struct trace_cfg tc;
	char why_cfg[256];
	if (trace_cfg_parse(cfg->propagation, cfg->sample_ratio, cfg->inject_to, &tc, why_cfg, sizeof(why_cfg)) < 0) {
		fprintf(stderr, "obsbpf: attach: %s\n", why_cfg);
		return 1;
	}
	if (pod_resolve(&a.pod, cfg->pod, cfg->namespace_, cfg->node, cfg->cgroup, cfg->netns) < 0)
		return 1;
	a.loop = loop_new();
	/* Signals are blocked from here on: one arriving during start-up still detaches cleanly. */
	if (!a.loop || loop_stop_on_signals(a.loop) < 0) {
		perror("obsbpf: event loop");
		goto out;
	}
	spans.t = tracer_start(cfg, a.loop);
	if (!spans.t && errno)
		goto out;
	a.dp = datapath_open(cfg->max_routes, cfg->verbose);
	if (!a.dp || datapath_set_tracing(a.dp, &tc) < 0 || datapath_attach(a.dp, &a.pod, 0) < 0)
		goto out;
	if (!(a.exemplars = exemplars_new(EXEMPLAR_MAX_SERIES))) {
		fprintf(stderr, "obsbpf: exemplars: out of memory\n");
		goto out;
	}
	spans.dp = a.dp;
	spans.res = (struct span_resource){ cfg->service_name, a.pod.name, a.pod.namespace_, a.pod.node };
	a.spans = &spans;
	if (datapath_watch_events(a.dp, a.loop, on_event, &a) < 0) {
		perror("obsbpf: ring buffer");
		goto out;
	}
	if (start_http(&a) < 0)
		goto out;
	if (spans.t)
		http_server_add_collector(a.http, tracer_feed_collect, &spans);
	if (!(app = appmetrics_start(&a)))
		goto out;
	if (!(logs = logs_start(&a)) && errno)
		goto out;
	fprintf(stderr, "obsbpf: attached to pod %s/%s (cgroup %s); serving http://%s/metrics\n",
		a.pod.namespace_, a.pod.name, a.pod.cgroup_path, cfg->listen);
	if (loop_run(a.loop) < 0) {
		perror("obsbpf: event loop");
		goto out;
	}
	fprintf(stderr, "obsbpf: detaching from pod %s/%s\n", a.pod.namespace_, a.pod.name);
	rc = 0;
out:
	tracer_stop(spans.t); /* first: its last flush runs the loop, with everything still up */
	spans.t = NULL;
	logs_stop(logs);
	appmetrics_stop(app);
	http_server_stop(a.http);
	datapath_close(a.dp);
	exemplars_free(a.exemplars);
	loop_free(a.loop);
	pod_release(&a.pod);
	return rc;
}
