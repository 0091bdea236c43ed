// SPDX-License-Identifier: GPL-2.0
/* `obsbpf attach` and `obsbpf daemon`: the agent's start-up and shutdown sequence, its pods,
 * and its own endpoints (HTTP /metrics, /status; the control socket). */
#include "agent.h"
#include "agent_graph.h"
#include "agent_h2.h"
#include "agent_tls.h"
#include "agent_status.h"
#include "util/log.h"

#include "appmetrics/appmetrics.h"
#include "bpf/datapath.h"
#include "bpf/probe.h"
#include "ctl/ctl.h"
#include "bpf/trace_cfg.h"
#include "bpf/variant.h"
#include "http/server.h"
#include "logs/logs.h"
#include "loop/loop.h"
#include "metrics/buckets.h"
#include "metrics/exemplars.h"
#include "metrics/graph_store.h"
#include "metrics/red.h"
#include "pod/kubepods.h"
#include "pod/watch.h"
#include "trace/trace.h"
#include "util/array.h"
#include "util/version.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOOP_STALL_NS	    (5ull * 1000000000ull)
#define RESCAN_MS	    2000
#define EXEMPLAR_MAX_SERIES 16384 /* http_hist's max_entries: one exemplar set per series */

const struct agent_pod *agent_pod(const struct agent *a, uint32_t pod_id)
{
	for (int i = 0; i < a->npods; i++)
		if (a->pods[i]->id == pod_id)
			return a->pods[i];
	return NULL;
}

int64_t agent_pod_add(struct agent *a, const struct pod_info *p)
{
	if (!array_grow((void **)&a->pods, &a->cap_pods, (size_t)a->npods + 1, sizeof(*a->pods)))
		return -ENOMEM;
	struct agent_pod *ap = calloc(1, sizeof(*ap));
	if (!ap)
		return -ENOMEM;
	ap->info = *p;
	ap->info.netns_fd = fcntl(p->netns_fd, F_DUPFD_CLOEXEC, 0);
	ap->id = a->next_pod_id++;
	ap->since = time(NULL);
	int err = ap->info.netns_fd < 0 ? -errno : datapath_attach_pod(a->dp, &ap->info, ap->id);
	if (err) {
		pod_release(&ap->info);
		free(ap);
		return err;
	}
	a->pods[a->npods++] = ap;
	log_info("agent", "attached to pod %s/%s (cgroup %s%s)\n", p->namespace_, p->name, p->cgroup_path,
		 datapath_pod_tcx(a->dp, ap->id) ? ""
						 : "; tc filters, not tcx links: a killed agent leaves them");
	if (a->app && (err = appmetrics_pod_add(a->app, ap)) < 0)
		log_error("agent", "pod %s/%s: app metrics: %s\n", p->namespace_, p->name, strerror(-err));
	return ap->id;
}

void agent_pod_remove(struct agent *a, uint32_t pod_id)
{
	for (int i = 0; i < a->npods; i++) {
		struct agent_pod *ap = a->pods[i];
		if (ap->id != pod_id)
			continue;
		appmetrics_pod_remove(a->app, pod_id);
		datapath_detach_pod(a->dp, pod_id);
		agent_tls_forget_pod(a, pod_id);
		agent_h2_forget_pod(a, pod_id);
		log_info("agent", "detached from pod %s/%s\n", ap->info.namespace_, ap->info.name);
		pod_release(&ap->info);
		free(ap);
		a->pods[i] = a->pods[--a->npods];
		return;
	}
}

static struct pod_labels labels_of(const struct agent_pod *ap)
{
	return (struct pod_labels){ ap->info.name, ap->info.namespace_, ap->info.node };
}

/* Labels of the agent's own series: the kernel's counters (and the exporter's) are not per pod:
 * with one pod they are its, else the node's. */
static struct pod_labels agent_labels(const struct agent *a)
{
	struct pod_labels node = { NULL, NULL, a->pod.node };
	return a->npods == 1 && a->pod.name[0] ? labels_of(a->pods[0]) : node;
}

static void collect_spans(void *arg, struct strbuf *out, enum exposition_format fmt)
{
	struct agent *a = arg;
	struct pod_labels l = agent_labels(a);
	/* Unsampled exchanges the kernel counted instead of sending (OBSBPF_EVENTS_SAMPLED). */
	uint64_t s[OBSBPF_ST_MAX] = { 0 };
	if (datapath_read_stats(a->dp, s) == 0)
		tracer_set_kernel_not_sampled(a->spans->t, s[OBSBPF_ST_EVENTS_UNSAMPLED]);
	tracer_render_metrics(a->spans->t, out, fmt, &l);
}

static void collect_datapath(void *arg, struct strbuf *out, enum exposition_format fmt)
{
	struct agent *a = arg;
	if (!a->dp) /* a scrape while a failed start-up flushes spans */
		return;
	struct dp_hist_entry *h = NULL;
	struct dp_route *r = NULL;
	struct agent_counters c = { 0 };
	struct red_pod *rp = calloc((size_t)a->npods + 1, sizeof(*rp));
	int nh = datapath_read_hist(a->dp, &h);
	int nr = datapath_read_routes(a->dp, &r);

	for (int i = 0; rp && i < a->npods; i++)
		rp[i] = (struct red_pod){ a->pods[i]->id, labels_of(a->pods[i]) };
	if (nh >= 0)
		exemplars_retain(a->exemplars, h, nh);
	if (rp && nh >= 0 && nr >= 0)
		red_render_families(out, fmt, rp, a->npods, h, nh, r, nr, a->exemplars, agent_h2_hist(a));
	if (nh >= 0)
		agent_graph_render(a, out, fmt, h, nh);
	datapath_read_stats(a->dp, c.stats);
	c.stats[OBSBPF_ST_GRAPH_FULL] += graph_store_other(agent_h2_graph(a));
	c.events_read = datapath_events_read(a->dp);
	c.routes_used = nr > 0 ? (unsigned)nr : 0;
	c.routes_max = datapath_max_routes(a->dp);
	c.exemplar_series = exemplars_series(a->exemplars);
	c.exemplars_dropped = exemplars_dropped(a->exemplars);
	c.release_waiting = datapath_release_waiting(a->dp);
	agent_h2_counters(a, &c);
	struct pod_labels one = agent_labels(a);
	agent_counters_render(out, fmt, &one, &c);
	agent_h2_render_counters(a, out, fmt, &one);
	agent_tls_render_counters(a, out, fmt, &one);
	free(rp);
	free(h);
	free(r);
}

static bool ready_datapath(void *arg, struct strbuf *why)
{
	struct agent *a = arg;
	if (!a->dp || !datapath_attached(a->dp)) {
		sb_puts(why, "BPF programs are not attached");
		return false;
	}
	for (int i = 0; i < a->npods; i++)
		if (!datapath_pod_attached(a->dp, a->pods[i]->id)) {
			sb_printf(why, "pod %s is not attached", a->pods[i]->info.name);
			return false;
		}
	if (!strcmp(a->mode, "attach") && a->npods == 0) {
		sb_puts(why, "the pod is not attached");
		return false;
	}
	return true;
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

/* Every ring buffer event (dp_event_fn): its trace id kept as an exemplar, a span for the
 * exporter, a line for `obsbpf observe` clients. */
static void on_event(void *arg, const struct obsbpf_http_event *e)
{
	struct agent *a = arg;
	const struct agent_pod *ap = agent_pod(a, e->pod_id);
	exemplars_record(a->exemplars, e);
	if (ap && a->spans && a->spans->t) {
		a->spans->res = (struct span_resource){ a->cfg->service_name, ap->info.name,
							ap->info.namespace_, ap->info.node };
		tracer_feed_event(a->spans, e);
	}
	if (!ctl_server_observers(a->ctl))
		return;
	struct strbuf b;
	sb_init(&b);
	agent_event_json(a, e, ap, &b);
	if (!b.oom)
		ctl_server_publish(a->ctl, ap ? ap->info.name : "", b.buf, b.len);
	sb_free(&b);
}

/* obsbpf_build_info: which build runs on which kernel, to join on (the standard *_build_info
 * idiom: one series, value 1); obsbpf_ready: /readyz as a gauge, for alerts. */
static void collect_build_info(void *arg, struct strbuf *out, enum exposition_format fmt)
{
	struct agent *a = arg;
	char kernel[128], labels[320];
	obsbpf_kernel_release(kernel, sizeof(kernel));
	/* the three come from the Makefile and uname: no quote or backslash to escape */
	snprintf(labels, sizeof(labels), "version=\"%s\",commit=\"%s\",kernel=\"%s\"", obsbpf_version(),
		 obsbpf_commit(), kernel);
	http_expo_family(
		out, fmt, "obsbpf_build_info", "gauge",
		"The running agent's release, the commit it was built from and the kernel it runs on (always 1).");
	struct pod_labels one = agent_labels(a);
	red_sample(out, "obsbpf_build_info", labels, &one, 1);
	http_expo_family(out, fmt, "obsbpf_ready", "gauge",
			 "1 when /readyz answers 200 (programs attached, event loop turning, the app healthy "
			 "when --app-health is set), else 0.");
	red_sample(out, "obsbpf_ready", NULL, &one, http_server_ready(a->http));
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
		.handlers_remote = cfg->status_remote,
	};
	a->http = http_server_start(&o, a->loop);
	if (!a->http)
		return -1;
	http_server_add_collector(a->http, collect_build_info, a);
	http_server_add_collector(a->http, collect_datapath, a);
	http_server_add_ready_check(a->http, "datapath", ready_datapath, a);
	http_server_add_ready_check(a->http, "event_loop", ready_loop, a);
	http_server_add_handler(a->http, "/status", agent_handle_status, a);
	return 0;
}

/* Checks that need no kernel object: bad options and missing kernel features fail here,
 * before anything is resolved or loaded. Returns 0, or -1 after one line on stderr. */
static int agent_preflight(struct agent *a, enum dp_tc_hook *tc_hook, struct trace_cfg *tc)
{
	const struct obsbpf_config *cfg = a->cfg;
	char why_cfg[256];
	if (datapath_parse_tc_hook(cfg->tc_hook, tc_hook) < 0) {
		log_error("agent", "%s: --tc-hook %s: expected auto, tcx or filter", a->mode, cfg->tc_hook);
		return -1;
	}
	enum hist_buckets hb;
	if (hist_buckets_parse(cfg->histogram_buckets, &hb) < 0) {
		log_error("agent", "%s: --histogram-buckets %s: expected otel or fine", a->mode,
			  cfg->histogram_buckets);
		return -1;
	}
	hist_buckets_set(hb);
	if (strcmp(cfg->url_query, "strip") && strcmp(cfg->url_query, "keep")) {
		log_error("agent", "%s: --url-query %s: expected strip or keep", a->mode, cfg->url_query);
		return -1;
	}
	tracer_set_url_query_keep(!strcmp(cfg->url_query, "keep"));
	const char *why = probe_required();
	if (why) {
		log_error("agent", "%s: %s\n", a->mode, why);
		return -1;
	}
	if (trace_cfg_parse(cfg->propagation, cfg->sample_ratio, cfg->inject_to, tc, why_cfg,
			    sizeof(why_cfg)) < 0 ||
	    trace_cfg_propagate(cfg->propagate, tc, why_cfg, sizeof(why_cfg)) < 0) {
		log_error("agent", "%s: %s\n", a->mode, why_cfg);
		return -1;
	}
	return 0;
}

/* Every exchange needs its event while someone observes, every sampled one while spans are
 * exported (the kernel counts the others); otherwise the kernel sends only samples for
 * exemplars. */
static int events_wanted_set(struct agent *a, int observers)
{
	enum obsbpf_events_mode m = observers > 0 ? OBSBPF_EVENTS_EVERY
		: a->spans && a->spans->t	  ? OBSBPF_EVENTS_SAMPLED
						  : OBSBPF_EVENTS_SAMPLES;
	return datapath_set_events(a->dp, m);
}

static void events_wanted(void *arg, int observers)
{
	events_wanted_set(arg, observers);
}

/* What both modes start before they have pods: loop, BPF object, ring buffer, HTTP, control
 * socket. Returns 0, or -1 after one line on stderr. */
static int agent_start(struct agent *a, enum dp_tc_hook tc_hook, const struct trace_cfg *tc)
{
	a->started = time(NULL);
	a->loop = loop_new();
	/* Signals are blocked from here on: one arriving during start-up still detaches cleanly. */
	if (!a->loop || loop_stop_on_signals(a->loop) < 0) {
		log_error("agent", "event loop: %s", strerror(errno));
		return -1;
	}
	/* The exporter first: a bad --otlp-* value fails before anything is loaded. */
	if (!(a->spans = calloc(1, sizeof(*a->spans))))
		return -1;
	if (tracer_start(a->cfg, a->loop, &a->spans->t) < 0)
		return -1;
	if (!(a->exemplars = exemplars_new(EXEMPLAR_MAX_SERIES))) {
		log_error("agent", "exemplars: out of memory\n");
		return -1;
	}
	/* The port before the BPF load: a port another process holds fails in one line at once,
	 * not after the load. Nothing is served until the loop runs. */
	if (start_http(a) < 0)
		return -1;
	a->propagating = tc->k.propagation != 0;
	a->dp = datapath_open(a->cfg->max_routes, a->cfg->max_conns, a->cfg->max_graph_peers);
	if (!a->dp || datapath_set_tracing(a->dp, tc) < 0)
		return -1;
	a->spans->dp = a->dp;
	datapath_set_tc_hook(a->dp, tc_hook);
	datapath_pin_socks(a->dp, a->cfg->pin_dir); /* a failure is a warning */
	if (datapath_watch_events(a->dp, a->loop, on_event, a) < 0) {
		log_error("agent", "ring buffer: %s", strerror(errno));
		return -1;
	}
	if (agent_h2_start(a, &tc->k) < 0 || agent_tls_start(a) < 0)
		return -1;
	if (a->spans->t)
		http_server_add_collector(a->http, collect_spans, a);
	if (!(a->ctl = ctl_server_start(a->loop, a->cfg->control_socket, agent_status_json, a)))
		return -1;
	ctl_server_on_observers(a->ctl, events_wanted);
	/* Once started: an error above stays the only line. */
	if (datapath_variant(a->dp)->eagain_hazard)
		log_warn("agent",
			 "blocking reads on the pod's client connections may fail with EAGAIN after a "
			 "send larger than the socket buffer; Linux tcp_bpf_recvmsg bug; obsbpf releases "
			 "the connections it does not need to follow\n");
	return events_wanted_set(a, 0);
}

static void agent_stop(struct agent *a)
{
	if (a->spans) {
		tracer_stop(a->spans->t); /* first: its last flush runs the loop, with everything still up */
		free(a->spans);
		a->spans = NULL;
	}
	podwatch_stop(a->watch);
	ctl_server_stop(a->ctl);
	http_server_stop(a->http);
	while (a->npods)
		agent_pod_remove(a, a->pods[a->npods - 1]->id);
	free(a->pods);
	datapath_close(a->dp);
	agent_tls_stop(a);
	agent_h2_stop(a);
	exemplars_free(a->exemplars);
	loop_free(a->loop);
	pod_release(&a->pod);
}

/* Injected trace headers whose spans go nowhere make every trace downstream point at parents
 * that do not exist: said once, at start. */
static void warn_unexported(const struct agent *a, const struct trace_cfg *tc)
{
	const char *p = a->cfg->propagation;
	if (tc->k.propagation && !(a->spans && a->spans->t))
		log_warn("agent",
			 "%s: --propagation %s without span export: requests get trace headers whose spans "
			 "are never exported, so traces downstream point at parents that do not exist (set "
			 "--otlp-endpoint, or --propagation none)\n",
			 a->mode, p);
}

static int agent_run(struct agent *a)
{
	if (loop_run(a->loop) < 0) {
		log_error("agent", "event loop: %s", strerror(errno));
		return 1;
	}
	return 0;
}

int agent_attach(const struct obsbpf_config *cfg)
{
	struct agent a = { .cfg = cfg, .mode = "attach", .pod.netns_fd = -1 };
	int rc = 1;

	enum dp_tc_hook tc_hook;
	struct trace_cfg tc;
	if (agent_preflight(&a, &tc_hook, &tc) < 0 ||
	    pod_resolve(&a.pod, cfg->pod, cfg->namespace_, cfg->node, cfg->cgroup, cfg->netns) < 0)
		return 1;
	kubepods_path_uid(a.pod.cgroup_path, a.pod.uid, sizeof(a.pod.uid)); /* "" outside kubepods */
	if (agent_start(&a, tc_hook, &tc) < 0 || agent_pod_add(&a, &a.pod) < 0)
		goto out;
	if (!(a.app = appmetrics_start(&a)))
		goto out;
	if (logs_start(&a, &a.logs) < 0)
		goto out;
	warn_unexported(&a, &tc);
	log_info("agent", "serving http://%s/metrics; control socket %s\n", cfg->listen, cfg->control_socket);
	rc = agent_run(&a);
	log_info("agent", "detaching from pod %s/%s\n", a.pod.namespace_, a.pod.name);
out:
	logs_stop(a.logs);
	appmetrics_stop(a.app);
	a.app = NULL;
	agent_stop(&a);
	return rc;
}

static int64_t watch_add(void *arg, const struct pod_info *p)
{
	return agent_pod_add(arg, p);
}

static void watch_gone(void *arg, uint32_t pod_id)
{
	agent_pod_remove(arg, pod_id);
}

int agent_daemon(const struct obsbpf_config *cfg)
{
	struct agent a = { .cfg = cfg, .mode = "daemon" };
	struct pod_select sel;
	const char *cg2 = cgroup2_mount();
	int rc = 1;

	/* a.pod only carries the node name in this mode (the node-wide series' label). */
	pod_info_init(&a.pod, NULL, cfg->node);
	a.pod.namespace_[0] = '\0';
	enum dp_tc_hook tc_hook;
	struct trace_cfg tc;
	if (agent_preflight(&a, &tc_hook, &tc) < 0 ||
	    pod_select_init(&sel, &cfg->pod_patterns, cfg->pod_list, cfg->namespace_) < 0)
		return 1;
	if (!cg2) {
		log_error("agent", "daemon: no cgroup v2 mount on this node\n");
		return 1;
	}
	a.select = &sel;
	if (agent_start(&a, tc_hook, &tc) < 0 || !(a.app = appmetrics_start(&a)) ||
	    logs_start(&a, &a.logs) < 0)
		goto out;
	struct podwatch_opts o = {
		.cgroup_root = cg2,
		.select = &sel,
		.node = a.pod.node,
		.identify = pod_meta_from_logs,
		.identify_ctx = (void *)cfg->pod_logs,
		.rescan_ms = RESCAN_MS,
		.add = watch_add,
		.gone = watch_gone,
		.arg = &a,
	};
	if (!(a.watch = podwatch_start(a.loop, &o))) {
		log_error("agent", "daemon: watch %s/kubepods: %s\n", cg2, strerror(errno));
		goto out;
	}
	warn_unexported(&a, &tc);
	log_info("agent",
		 "daemon watching %s/kubepods{,.slice} (%d pods attached); serving http://%s/metrics; "
		 "control socket %s\n",
		 cg2, a.npods, cfg->listen, cfg->control_socket);
	rc = agent_run(&a);
	log_info("agent", "detaching from %d pods\n", a.npods);
out:
	podwatch_stop(a.watch); /* no pod comes or goes while the components stop */
	a.watch = NULL;
	logs_stop(a.logs);
	appmetrics_stop(a.app);
	a.app = NULL;
	agent_stop(&a);
	return rc;
}
