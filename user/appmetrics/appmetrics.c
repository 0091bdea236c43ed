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
#include "http/server.h"
#include "loop/loop.h"
#include "fetch.h"
#include "internal.h"

#include <errno.h>
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

void am_sample(struct appmetrics *m, struct strbuf *out, const char *name, const char *extra, double v)
{
	sb_printf(out, "%s{", name);
	for (size_t i = 0; i < 3; i++) { /* our own series carry the pod labels only */
		sb_printf(out, "%s%s=\"", i ? "," : "", m->lnames[i]);
		sb_label_value(out, m->lvalues[i]);
		sb_putc(out, '"');
	}
	if (extra)
		sb_printf(out, ",%s", extra);
	/* The shortest text that reads back as the same double. */
	char num[32];
	snprintf(num, sizeof(num), "%.15g", v);
	if (strtod(num, NULL) != v)
		snprintf(num, sizeof(num), "%.17g", v);
	sb_printf(out, "} %s\n", num);
}

static void collect(void *arg, struct strbuf *out, enum exposition_format f)
{
	struct appmetrics *m = arg;
	if (m->url) {
		am_family(out, f, "obsbpf_app_up", "gauge",
			  "1 when the last scrape of the app's metrics endpoint succeeded, else 0.");
		am_sample(m, out, "obsbpf_app_up", NULL, m->up);
		am_family(out, f, "obsbpf_app_scrapes_total", "counter",
			  "Scrapes of the app's metrics endpoint, good or not.");
		am_sample(m, out, "obsbpf_app_scrapes_total", NULL, (double)m->scrapes);
		am_family(out, f, "obsbpf_app_scrape_errors_total", "counter",
			  "Failed scrapes of the app's metrics endpoint, by reason.");
		for (int i = 0; i < SE_MAX; i++) {
			char extra[64];
			snprintf(extra, sizeof(extra), "reason=\"%s\"", err_reason[i]);
			am_sample(m, out, "obsbpf_app_scrape_errors_total", extra, (double)m->errors[i]);
		}
		am_family(out, f, "obsbpf_app_scrape_duration_seconds", "gauge",
			  "How long the last scrape of the app took.");
		am_sample(m, out, "obsbpf_app_scrape_duration_seconds", NULL, m->duration);
		const struct expo_stats *st = m->doc ? expo_doc_stats(m->doc) : NULL;
		am_family(out, f, "obsbpf_app_series", "gauge",
			  "Series of the app re-exposed from its last good scrape.");
		am_sample(m, out, "obsbpf_app_series", NULL, st ? st->series : 0);
		am_family(out, f, "obsbpf_app_families_renamed", "gauge",
			  "App metric families whose name clashes with the agent's own, in the last good "
			  "scrape: renamed to app_<name>, or dropped when that name was taken too.");
		am_sample(m, out, "obsbpf_app_families_renamed", "action=\"renamed\"", st ? st->renamed : 0);
		am_sample(m, out, "obsbpf_app_families_renamed", "action=\"dropped\"", st ? st->clashed : 0);
		am_family(
			out, f, "obsbpf_app_samples_ignored", "gauge",
			"Samples of the last good scrape not re-exposed: repeated series, or OpenMetrics-only "
			"samples (_created, gaugehistogram) with no Prometheus text form.");
		am_sample(m, out, "obsbpf_app_samples_ignored", "reason=\"duplicate\"",
			  st ? st->dup_series : 0);
		am_sample(m, out, "obsbpf_app_samples_ignored", "reason=\"unsupported\"",
			  st ? st->dropped : 0);
	}
	health_collect(m, out, f);
	push_collect(m, out, f);
	if (!m->doc)
		return;
	if (m->rendering_for_push) {
		expo_render(m->doc, &m->labels, f, true, out);
		return;
	}
	/* Rendered once per scrape and format: a /metrics request then costs a copy. */
	int k = f == EXPO_OPENMETRICS;
	if (!m->cached[k]) {
		sb_reset(&m->cache[k]);
		expo_render(m->doc, &m->labels, f, false, &m->cache[k]);
		m->cached[k] = !m->cache[k].oom;
	}
	if (m->cached[k])
		sb_append(out, m->cache[k].buf ? m->cache[k].buf : "", m->cache[k].len);
}

static void set_doc(struct appmetrics *m, struct expo_doc *d)
{
	expo_doc_free(m->doc);
	m->doc = d;
	m->cached[0] = m->cached[1] = false;
}

static void scrape_failed(struct appmetrics *m, enum scrape_err e, const char *why)
{
	m->errors[e]++;
	set_doc(m, NULL);
	if (m->up || m->scrapes == 1) /* one line per outage, not one per scrape */
		log_warn("appmetrics", "app metrics %s: %s (retrying every %u s)\n", m->url, why,
			 m->cfg->app_metrics_interval);
	m->up = false;
}

static void scrape_done(void *arg, const struct fetch_result *r)
{
	struct appmetrics *m = arg;
	char why[320];
	m->scraping = false;
	m->scrapes++;
	m->duration = r->seconds;
	if (!r->ok) {
		scrape_failed(m,
			      r->too_large	     ? SE_TOO_LARGE
				      : r->timed_out ? SE_TIMEOUT
						     : SE_CONNECT,
			      r->too_large ? "response larger than --app-metrics-max-mb" : r->error);
		return;
	}
	if (r->status < 200 || r->status > 299) {
		snprintf(why, sizeof(why), "HTTP status %ld", r->status);
		scrape_failed(m, SE_HTTP_STATUS, why);
		return;
	}
	struct expo_parse_opts o = {
		.openmetrics = r->content_type && strstr(r->content_type, "application/openmetrics-text"),
		.max_series = m->cfg->app_metrics_max_series,
		.max_label_bytes = m->cfg->app_metrics_max_label_bytes,
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
		scrape_failed(m, e, why);
		return;
	}
	sb_free(&err);
	expo_doc_reserve(d, appmetrics_reserved_name, "app_");
	set_doc(m, d);
	if (!m->up && m->scrapes > 1)
		log_info("appmetrics", "app metrics %s: scraping again (%u series)\n", m->url,
			 expo_doc_stats(d)->series);
	m->up = true;
}

static void scrape_tick(void *arg)
{
	struct appmetrics *m = arg;
	if (m->scraping) /* the timeout is capped at the interval: this is a late event */
		return;
	unsigned timeout = m->cfg->app_metrics_timeout_ms;
	unsigned cap = m->cfg->app_metrics_interval * 1000;
	struct fetch_req req = {
		.url = m->url,
		.accept = SCRAPE_ACCEPT,
		.timeout_ms = timeout < cap ? timeout : cap,
		.max_bytes = (size_t)m->cfg->app_metrics_max_mb << 20,
		.pod = &m->a->pod,
	};
	if (fetch_start(m->fx, &req, scrape_done, m) == 0)
		m->scraping = true;
	else
		scrape_failed(m, SE_CONNECT, "cannot start a request");
}

static int set_labels(struct appmetrics *m)
{
	const struct obsbpf_config *c = m->cfg;
	static const char *const pod_names[] = { "k8s_pod_name", "k8s_namespace_name", "k8s_node_name" };
	const struct pod_info *p = &m->a->pod;
	const char *pod_values[] = { p->name, p->namespace_, p->node };
	size_t n = 0;
	for (; n < 3; n++) {
		m->lnames[n] = pod_names[n];
		m->lvalues[n] = pod_values[n];
	}
	for (unsigned i = 0; i < c->labels.n; i++) {
		const char *arg = c->labels.v[i];
		char *s = m->lstore[i] = strdup(arg);
		char *eq = s ? strchr(s, '=') : NULL;
		if (!s)
			return -ENOMEM;
		if (eq)
			*eq = '\0';
		bool dup = false;
		for (size_t k = 0; eq && k < n; k++)
			dup |= !strcmp(m->lnames[k], s);
		if (!eq || !expo_valid_label_name(s) || (s[0] == '_' && s[1] == '_') || dup) {
			log_error("appmetrics",
				  "--label %s: expected NAME=VALUE with a new Prometheus label name\n", arg);
			return -EINVAL;
		}
		m->lnames[n] = s;
		m->lvalues[n++] = eq + 1;
	}
	m->labels = (struct expo_label_set){ m->lnames, m->lvalues, n };
	return 0;
}

static int own_socket(void *arg, int fd, bool own)
{
	return datapath_own_socket(arg, fd, own);
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
	if (set_labels(m) < 0)
		goto fail;
	if (c->app_metrics && *c->app_metrics && strcmp(c->app_metrics, "off")) {
		m->url = c->app_metrics;
		if (!c->app_metrics_interval) {
			log_error("appmetrics", "--app-metrics-interval: must be at least 1 second\n");
			goto fail;
		}
	}
	if (!(m->fx = fetcher_new(a->loop))) {
		log_error("appmetrics", "app metrics: cannot initialise libcurl\n");
		goto fail;
	}
	/* The agent's scrapes and probes are requests to the app: keep them out of its metrics. */
	if (a->dp)
		fetcher_set_socket_hook(m->fx, own_socket, a->dp);
	if (m->url &&
	    !(m->scrape_timer =
		      loop_add_timer(a->loop, 1, c->app_metrics_interval * 1000ull, scrape_tick, m))) {
		log_error("appmetrics", "app metrics: timer: %s", strerror(errno));
		goto fail;
	}
	if (health_start(m) < 0 || push_start(m) < 0)
		goto fail;
	if (http_server_add_collector(a->http, collect, m) < 0) {
		log_error("appmetrics", "app metrics: too many /metrics collectors\n");
		goto fail;
	}
	return m;
fail:
	appmetrics_stop(m);
	return NULL;
}

void appmetrics_stop(struct appmetrics *m)
{
	if (!m)
		return;
	health_stop(m);
	loop_remove(m->scrape_timer);
	/* Cancels a push in flight, so that the group delete in push_stop comes last. */
	fetcher_free(m->fx);
	push_stop(m);
	set_doc(m, NULL);
	sb_free(&m->cache[0]);
	sb_free(&m->cache[1]);
	for (size_t i = 0; i < OPT_LIST_MAX; i++)
		free(m->lstore[i]);
	free(m);
}
