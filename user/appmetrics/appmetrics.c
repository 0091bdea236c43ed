// SPDX-License-Identifier: GPL-2.0
/* Scraping the app's metrics endpoint and re-exposing it. A scrape that fails for any reason
 * (unreachable, HTTP error, malformed text, too big) removes the app's series from /metrics
 * until the next good one, as Prometheus marks a failed target's series stale: re-serving
 * old values as current would be a lie. obsbpf_app_up and obsbpf_app_scrape_errors_total
 * say what happened; /metrics itself always stays well-formed. */
#include "appmetrics.h"
#include "util/log.h"

#include "agent.h"
#include "bpf/datapath.h"
#include "util/array.h"
#include "http/server.h"
#include "loop/loop.h"
#include "fetch.h"
#include "internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const err_reason[SE_MAX] = {
	[SE_CONNECT] = "connect",	  [SE_TIMEOUT] = "timeout",
	[SE_HTTP_STATUS] = "http_status", [SE_PARSE] = "parse",
	[SE_TOO_LARGE] = "too_large",	  [SE_SERIES_LIMIT] = "series_limit",
	[SE_LABEL_LIMIT] = "label_limit",
};

/* Prometheus text: it is our own model, and OpenMetrics-only forms (_created) would be lost.
 * Not mentioning OpenMetrics matters: some clients (python's) pick it whenever it is listed,
 * whatever its q. An app that only speaks OpenMetrics says so in its Content-Type. */
#define SCRAPE_ACCEPT "text/plain;version=0.0.4;q=1,*/*;q=0.1"

bool appmetrics_reserved_name(const char *n)
{
	static const char *const hist[] = { "http_server_request_duration_seconds",
					    "http_client_request_duration_seconds" };
	if (!strncmp(n, "obsbpf_", 7))
		return true;
	for (size_t i = 0; i < sizeof(hist) / sizeof(hist[0]); i++) {
		size_t k = strlen(hist[i]);
		if (!strncmp(n, hist[i], k) &&
		    (!n[k] || !strcmp(n + k, "_bucket") || !strcmp(n + k, "_sum") ||
		     !strcmp(n + k, "_count") || !strcmp(n + k, "_created")))
			return true;
	}
	return false;
}

void am_family(struct strbuf *out, enum exposition_format f, const char *name, const char *type,
	       const char *help)
{
	http_expo_family(out, f, name, type, help);
}

/* The shortest text that reads back as the same double. */
static void put_number(struct strbuf *out, double v)
{
	char num[32];
	snprintf(num, sizeof(num), "%.15g", v);
	if (strtod(num, NULL) != v)
		snprintf(num, sizeof(num), "%.17g", v);
	sb_printf(out, "} %s\n", num);
}

void am_sample(const struct am_target *t, struct strbuf *out, const char *name, const char *extra, double v)
{
	sb_printf(out, "%s{", name);
	for (size_t i = 0; i < AM_POD_LABELS; i++) { /* our own series carry the pod labels only */
		sb_printf(out, "%s%s=\"", i ? "," : "", t->lnames[i]);
		sb_label_value(out, t->lvalues[i]);
		sb_putc(out, '"');
	}
	if (extra)
		sb_printf(out, ",%s", extra);
	put_number(out, v);
}

void am_node_sample(const struct appmetrics *m, struct strbuf *out, const char *name, const char *extra,
		    double v)
{
	sb_printf(out, "%s{k8s_node_name=\"", name);
	sb_label_value(out, m->a->pod.node);
	sb_putc(out, '"');
	if (extra)
		sb_printf(out, ",%s", extra);
	put_number(out, v);
}

void am_invalidate(struct am_target *t)
{
	t->cached[0] = t->cached[1] = false;
	t->m->gen++;
}

/* One of our families with one sample per target that scrapes (value(t, arg)). */
typedef double (*am_value_fn)(const struct am_target *t, const void *arg);
static void scrape_family(struct appmetrics *m, struct strbuf *out, enum exposition_format f,
			  const char *name, const char *type, const char *help, const char *extra,
			  am_value_fn value, const void *arg, bool head)
{
	if (head)
		am_family(out, f, name, type, help);
	for (int i = 0; i < m->nt; i++)
		if (m->t[i]->url)
			am_sample(m->t[i], out, name, extra, value(m->t[i], arg));
}

static double v_up(const struct am_target *t, const void *arg)
{
	(void)arg;
	return t->up;
}
static double v_scrapes(const struct am_target *t, const void *arg)
{
	(void)arg;
	return (double)t->scrapes;
}
static double v_errors(const struct am_target *t, const void *arg)
{
	return (double)t->errors[*(const int *)arg];
}
static double v_duration(const struct am_target *t, const void *arg)
{
	(void)arg;
	return t->duration;
}
/* arg: offsetof the unsigned in struct expo_stats */
static double v_stat(const struct am_target *t, const void *arg)
{
	const struct expo_stats *st = t->doc ? expo_doc_stats(t->doc) : NULL;
	return st ? *(const unsigned *)((const char *)st + *(const size_t *)arg) : 0;
}
static double v_conflicts(const struct am_target *t, const void *arg)
{
	(void)arg;
	return t->doc ? t->conflicts : 0;
}

static void collect_own(struct appmetrics *m, struct strbuf *out, enum exposition_format f)
{
	bool any = false;
	for (int i = 0; i < m->nt; i++)
		any |= m->t[i]->url != NULL;
	if (!any)
		return;
	static const size_t series = offsetof(struct expo_stats, series),
			    renamed = offsetof(struct expo_stats, renamed),
			    clashed = offsetof(struct expo_stats, clashed),
			    dup = offsetof(struct expo_stats, dup_series),
			    dropped = offsetof(struct expo_stats, dropped);
	scrape_family(m, out, f, "obsbpf_app_up", "gauge",
		      "1 when the last scrape of the app's metrics endpoint succeeded, else 0.", NULL, v_up,
		      NULL, true);
	scrape_family(m, out, f, "obsbpf_app_scrapes_total", "counter",
		      "Scrapes of the app's metrics endpoint, good or not.", NULL, v_scrapes, NULL, true);
	am_family(out, f, "obsbpf_app_scrape_errors_total", "counter",
		  "Failed scrapes of the app's metrics endpoint, by reason.");
	for (int e = 0; e < SE_MAX; e++) {
		char extra[64];
		snprintf(extra, sizeof(extra), "reason=\"%s\"", err_reason[e]);
		scrape_family(m, out, f, "obsbpf_app_scrape_errors_total", NULL, NULL, extra, v_errors, &e,
			      false);
	}
	scrape_family(m, out, f, "obsbpf_app_scrape_duration_seconds", "gauge",
		      "How long the last scrape of the app took.", NULL, v_duration, NULL, true);
	scrape_family(m, out, f, "obsbpf_app_series", "gauge",
		      "Series of the app re-exposed from its last good scrape.", NULL, v_stat, &series, true);
	scrape_family(m, out, f, "obsbpf_app_families_renamed", "gauge",
		      "App metric families whose name clashes with the agent's own, in the last good "
		      "scrape: renamed to app_<name>, or dropped when that name was taken too.",
		      "action=\"renamed\"", v_stat, &renamed, true);
	scrape_family(m, out, f, "obsbpf_app_families_renamed", NULL, NULL, "action=\"dropped\"", v_stat,
		      &clashed, false);
	scrape_family(m, out, f, "obsbpf_app_samples_ignored", "gauge",
		      "Samples of the last good scrape not re-exposed: repeated series, or OpenMetrics-only "
		      "samples (_created, gaugehistogram) with no Prometheus text form, or (daemon) a "
		      "family whose type differs from an earlier pod's of that name.",
		      "reason=\"duplicate\"", v_stat, &dup, true);
	scrape_family(m, out, f, "obsbpf_app_samples_ignored", NULL, NULL, "reason=\"unsupported\"", v_stat,
		      &dropped, false);
	if (m->daemon)
		scrape_family(m, out, f, "obsbpf_app_samples_ignored", NULL, NULL, "reason=\"type_conflict\"",
			      v_conflicts, NULL, false);
}

/* attach: the one target's document, rendered once per scrape and format (a /metrics request then
 * costs a copy). */
static void collect_one(struct am_target *t, struct strbuf *out, enum exposition_format f, bool push)
{
	if (!t->doc)
		return;
	if (push) {
		expo_render(t->doc, &t->labels, f, true, out);
		return;
	}
	int k = f == EXPO_OPENMETRICS;
	if (!t->cached[k]) {
		sb_reset(&t->cache[k]);
		expo_render(t->doc, &t->labels, f, false, &t->cache[k]);
		t->cached[k] = !t->cache[k].oom;
	}
	if (t->cached[k])
		sb_append(out, t->cache[k].buf ? t->cache[k].buf : "", t->cache[k].len);
}

/* daemon: every pod's document as one exposition (a family several pods have is one block). */
static void collect_merged(struct appmetrics *m, struct strbuf *out, enum exposition_format f, bool push)
{
	const struct expo_doc **docs = calloc((size_t)m->nt + 1, sizeof(*docs));
	struct expo_label_set *sets = calloc((size_t)m->nt + 1, sizeof(*sets));
	unsigned *conflicts = calloc((size_t)m->nt + 1, sizeof(*conflicts));
	int k = f == EXPO_OPENMETRICS;
	struct strbuf *dst = push ? out : &m->mcache[k];
	if (!docs || !sets || !conflicts)
		goto out;
	if (!push && m->cache_gen[k] == m->gen && m->gen) {
		sb_append(out, dst->buf ? dst->buf : "", dst->len);
		goto out;
	}
	for (int i = 0; i < m->nt; i++) {
		docs[i] = m->t[i]->doc;
		sets[i] = m->t[i]->labels;
	}
	if (!push)
		sb_reset(dst);
	expo_render_merged(docs, sets, (size_t)m->nt, f, push, conflicts, dst);
	for (int i = 0; i < m->nt; i++)
		m->t[i]->conflicts = conflicts[i];
	if (!push) {
		m->cache_gen[k] = dst->oom ? 0 : m->gen;
		if (!dst->oom)
			sb_append(out, dst->buf ? dst->buf : "", dst->len);
	}
out:
	free(docs);
	free(sets);
	free(conflicts);
}

static void collect(void *arg, struct strbuf *out, enum exposition_format f)
{
	struct appmetrics *m = arg;
	collect_own(m, out, f);
	health_collect(m, out, f);
	push_collect(m, out, f);
	if (m->daemon)
		collect_merged(m, out, f, m->rendering_for_push);
	else if (m->nt)
		collect_one(m->t[0], out, f, m->rendering_for_push);
}

static void set_doc(struct am_target *t, struct expo_doc *d)
{
	if (!t->doc && !d)
		return;
	expo_doc_free(t->doc);
	t->doc = d;
	am_invalidate(t);
}

/* "app metrics URL" in attach; the pod is named in daemon mode. */
static const char *who(const struct am_target *t, char *buf, size_t n)
{
	if (!t->m->daemon)
		snprintf(buf, n, "%s", t->url);
	else
		snprintf(buf, n, "%s%s%s (%s)", t->pod->namespace_, t->pod->namespace_[0] ? "/" : "",
			 t->pod->name, t->url);
	return buf;
}

static void scrape_failed(struct am_target *t, enum scrape_err e, const char *why)
{
	char w[600];
	t->errors[e]++;
	set_doc(t, NULL);
	snprintf(t->last_error, sizeof(t->last_error), "%s", why);
	if (t->up || t->scrapes == 1) /* one line per outage, not one per scrape */
		log_warn("appmetrics", "app metrics %s: %s (retrying every %u s)\n", who(t, w, sizeof(w)),
			 why, t->interval);
	t->up = false;
}

static void scrape_done(void *arg, const struct fetch_result *r)
{
	struct am_target *t = arg;
	const struct obsbpf_config *cfg = t->m->cfg;
	char why[320], w[600];
	t->scraping = false;
	t->scrapes++;
	t->duration = r->seconds;
	if (!r->ok) {
		scrape_failed(t,
			      r->too_large	     ? SE_TOO_LARGE
				      : r->timed_out ? SE_TIMEOUT
						     : SE_CONNECT,
			      r->too_large ? "response larger than --app-metrics-max-mb" : r->error);
		return;
	}
	if (r->status < 200 || r->status > 299) {
		snprintf(why, sizeof(why), "HTTP status %ld", r->status);
		scrape_failed(t, SE_HTTP_STATUS, why);
		return;
	}
	struct expo_parse_opts o = {
		.openmetrics = r->content_type && strstr(r->content_type, "application/openmetrics-text"),
		.max_series = cfg->app_metrics_max_series,
		.max_label_bytes = cfg->app_metrics_max_label_bytes,
	};
	struct expo_doc *d;
	struct strbuf err;
	sb_init(&err);
	/* The body's buffer, not a copy of it: a scrape's peak is its body once (in a buffer up to
	 * twice as large while it grew, trimmed here since the document keeps it until the next). */
	size_t len;
	char *text = sb_steal(r->body, &len), *trimmed = realloc(text, len + 1);
	int rc = expo_parse_take(&d, trimmed ? trimmed : text, len, &o, &err);
	if (rc < 0) {
		enum scrape_err e = rc == -E2BIG ? SE_SERIES_LIMIT
			: rc == -EMSGSIZE	 ? SE_LABEL_LIMIT
						 : SE_PARSE;
		snprintf(why, sizeof(why), "%s%s", err.buf ? err.buf : strerror(-rc),
			 e == SE_SERIES_LIMIT	       ? " (--app-metrics-max-series)"
				 : e == SE_LABEL_LIMIT ? " (--app-metrics-max-label-bytes)"
						       : "");
		sb_free(&err);
		scrape_failed(t, e, why);
		return;
	}
	sb_free(&err);
	expo_doc_reserve(d, appmetrics_reserved_name, "app_");
	set_doc(t, d);
	t->last_error[0] = '\0';
	if (!t->up && t->scrapes > 1)
		log_info("appmetrics", "app metrics %s: scraping again (%u series)\n", who(t, w, sizeof(w)),
			 expo_doc_stats(d)->series);
	t->up = true;
}

static void scrape_tick(void *arg)
{
	struct am_target *t = arg;
	const struct obsbpf_config *cfg = t->m->cfg;
	if (t->scraping) /* the timeout is capped at the interval: this is a late event */
		return;
	unsigned timeout = cfg->app_metrics_timeout_ms;
	unsigned cap = t->interval * 1000;
	struct fetch_req req = {
		.url = t->url,
		.accept = SCRAPE_ACCEPT,
		.timeout_ms = timeout < cap ? timeout : cap,
		.max_bytes = (size_t)cfg->app_metrics_max_mb << 20,
		.pod = t->pod,
	};
	if (fetch_start(t->m->fx, &req, scrape_done, t) == 0)
		t->scraping = true;
	else
		scrape_failed(t, SE_CONNECT, "cannot start a request");
}

static int parse_labels(struct appmetrics *m)
{
	const struct obsbpf_config *c = m->cfg;
	static const char *const pod_names[] = { "k8s_pod_name", "k8s_namespace_name", "k8s_node_name" };
	for (unsigned i = 0; i < c->labels.n; i++) {
		const char *arg = c->labels.v[i];
		char *s = m->xstore[i] = strdup(arg);
		char *eq = s ? strchr(s, '=') : NULL;
		if (!s)
			return -ENOMEM;
		if (eq)
			*eq = '\0';
		bool dup = false;
		for (size_t k = 0; eq && k < AM_POD_LABELS; k++)
			dup |= !strcmp(pod_names[k], s);
		for (size_t k = 0; eq && k < m->nx; k++)
			dup |= !strcmp(m->xnames[k], s);
		if (!eq || !expo_valid_label_name(s) || (s[0] == '_' && s[1] == '_') || dup) {
			log_error("appmetrics",
				  "--label %s: expected NAME=VALUE with a new Prometheus label name\n", arg);
			return -EINVAL;
		}
		m->xnames[m->nx] = s;
		m->xvalues[m->nx++] = eq + 1;
	}
	return 0;
}

static void target_labels(struct am_target *t)
{
	static const char *const pod_names[] = { "k8s_pod_name", "k8s_namespace_name", "k8s_node_name" };
	const char *pod_values[] = { t->pod->name, t->pod->namespace_, t->pod->node };
	size_t n = 0;
	for (; n < AM_POD_LABELS; n++) {
		t->lnames[n] = pod_names[n];
		t->lvalues[n] = pod_values[n];
	}
	for (unsigned i = 0; i < t->m->nx; i++, n++) {
		t->lnames[n] = t->m->xnames[i];
		t->lvalues[n] = t->m->xvalues[i];
	}
	t->labels = (struct expo_label_set){ t->lnames, t->lvalues, n };
}

static int parse_rules(struct appmetrics *m)
{
	const struct str_list *r = &m->cfg->app_metrics_rules;
	if (!r->n)
		return 0;
	if (!(m->rules = calloc(r->n, sizeof(*m->rules))))
		return -ENOMEM;
	for (unsigned i = 0; i < r->n; i++) {
		char why[200];
		if (am_rule_parse(r->v[i], &m->rules[i], why, sizeof(why)) < 0) {
			log_error("appmetrics", "--app-metrics-rule '%s': %s\n", r->v[i], why);
			return -EINVAL;
		}
	}
	m->nrules = (int)r->n;
	return 0;
}

/* What the pod gets: attach, the options; daemon, its rule or the options. */
static void pod_cfg(const struct appmetrics *m, const struct pod_info *p, struct am_pod_cfg *pc)
{
	const struct obsbpf_config *c = m->cfg;
	struct am_defaults d = { c->app_metrics, c->app_metrics_interval, c->app_health };
	am_pod_cfg(m->rules, m->nrules, &d, p->namespace_, p->name, pc);
}

static void target_free(struct am_target *t)
{
	fetch_cancel(t->m->fx, t); /* its scrape or probe in flight */
	health_stop(t);
	loop_remove(t->scrape_timer);
	expo_doc_free(t->doc);
	sb_free(&t->cache[0]);
	sb_free(&t->cache[1]);
	free(t->url);
	free(t->health_url);
	free(t);
}

int appmetrics_pod_add(struct appmetrics *m, const struct agent_pod *ap)
{
	struct am_pod_cfg pc;
	pod_cfg(m, &ap->info, &pc);
	if (m->daemon && !pc.metrics[0] && !pc.health[0])
		return 0; /* nothing on for this pod (attach keeps its target: the Pushgateway's labels) */
	if (!array_grow((void **)&m->t, &m->cap, (size_t)m->nt + 1, sizeof(*m->t)))
		return -ENOMEM;
	struct am_target *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->m = m;
	t->pod_id = ap->id;
	t->pod = &ap->info;
	t->interval = pc.interval;
	target_labels(t);
	if ((pc.metrics[0] && !(t->url = strdup(pc.metrics))) ||
	    (pc.health[0] && !(t->health_url = strdup(pc.health)))) {
		target_free(t);
		return -ENOMEM;
	}
	/* Pods found together are not scraped at the same instant: spread over up to a second. */
	uint64_t first = m->daemon ? 1 + (ap->id * 397u) % 1000 : 1;
	if (t->url &&
	    !(t->scrape_timer = loop_add_timer(m->a->loop, first, t->interval * 1000ull, scrape_tick, t))) {
		log_error("appmetrics", "app metrics: timer: %s", strerror(errno));
		target_free(t);
		return -errno;
	}
	if (health_start(t) < 0) {
		target_free(t);
		return -EINVAL;
	}
	m->t[m->nt++] = t;
	am_invalidate(t);
	return 0;
}

void appmetrics_pod_remove(struct appmetrics *m, uint32_t pod_id)
{
	for (int i = 0; m && i < m->nt; i++) {
		if (m->t[i]->pod_id != pod_id)
			continue;
		struct am_target *t = m->t[i];
		memmove(&m->t[i], &m->t[i + 1], (size_t)(m->nt - i - 1) * sizeof(*m->t)); /* keeps order */
		m->nt--;
		m->gen++; /* its series leave /metrics with it */
		target_free(t);
		return;
	}
}

bool appmetrics_pod_status(const struct appmetrics *m, uint32_t pod_id, struct appmetrics_pod_status *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; m && i < m->nt; i++) {
		const struct am_target *t = m->t[i];
		if (t->pod_id != pod_id)
			continue;
		out->url = t->url;
		out->interval = t->interval;
		out->up = t->up;
		out->scrapes = t->scrapes;
		out->series = t->doc ? expo_doc_stats(t->doc)->series : 0;
		out->error = t->last_error[0] ? t->last_error : NULL;
		out->health_url = t->health_url;
		out->probed = t->probed;
		out->healthy = t->healthy;
		out->health_error = t->health_url && !t->healthy && t->probed ? t->health_why : NULL;
		return true;
	}
	return false;
}

static int own_socket(void *arg, int fd, bool own)
{
	return datapath_own_socket(arg, fd, own);
}

static int check_options(const struct obsbpf_config *c)
{
	bool on = c->app_metrics && *c->app_metrics && strcmp(c->app_metrics, "off");
	if (on && !c->app_metrics_interval) {
		log_error("appmetrics", "--app-metrics-interval: must be at least 1 second\n");
		return -EINVAL;
	}
	if (c->app_health && !c->app_health_interval) {
		log_error("appmetrics", "--app-health-interval: must be at least 1 second\n");
		return -EINVAL;
	}
	return 0;
}

struct appmetrics *appmetrics_start(struct agent *a)
{
	const struct obsbpf_config *c = a->cfg;
	struct appmetrics *m = calloc(1, sizeof(*m));
	if (!m) {
		log_error("appmetrics", "app metrics: out of memory\n");
		return NULL;
	}
	m->a = a;
	m->cfg = c;
	m->daemon = a->mode && !strcmp(a->mode, "daemon");
	if (check_options(c) < 0 || parse_labels(m) < 0 || parse_rules(m) < 0)
		goto fail;
	if (!(m->fx = fetcher_new(a->loop))) {
		log_error("appmetrics", "app metrics: cannot initialise libcurl\n");
		goto fail;
	}
	/* The agent's scrapes and probes are requests to the app: keep them out of its metrics. */
	if (a->dp)
		fetcher_set_socket_hook(m->fx, own_socket, a->dp);
	if (push_start(m) < 0)
		goto fail;
	if (http_server_add_collector(a->http, collect, m) < 0) {
		log_error("appmetrics", "app metrics: too many /metrics collectors\n");
		goto fail;
	}
	for (int i = 0; i < a->npods; i++)
		if (appmetrics_pod_add(m, a->pods[i]) < 0)
			goto fail;
	return m;
fail:
	appmetrics_stop(m);
	return NULL;
}

void appmetrics_stop(struct appmetrics *m)
{
	if (!m)
		return;
	while (m->nt)
		target_free(m->t[--m->nt]);
	free(m->t);
	/* Cancels a push in flight, so that the group delete in push_stop comes last. */
	fetcher_free(m->fx);
	push_stop(m);
	sb_free(&m->mcache[0]);
	sb_free(&m->mcache[1]);
	free(m->rules);
	for (size_t i = 0; i < OPT_LIST_MAX; i++)
		free(m->xstore[i]);
	free(m);
}
