// SPDX-License-Identifier: GPL-2.0
/* Health proxy: probes the app's health URL from inside the pod and folds the result into
 * /readyz (/healthz stays about the agent). Kubernetes' probe rules: any status from 200 to
 * 399 passes; not ready until a probe has passed; unready after N failures in a row; one
 * success recovers. */
#include "agent.h"
#include "http/server.h"
#include "loop/loop.h"
#include "fetch.h"
#include "internal.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void health_done(void *arg, const struct fetch_result *r)
{
	struct appmetrics *m = arg;
	const char *url = m->cfg->app_health;
	unsigned threshold = m->cfg->app_health_failures ? m->cfg->app_health_failures : 1;
	m->probing = false;
	m->probed = true;
	if (r->ok && r->status >= 200 && r->status < 400) {
		if (!m->healthy && m->fails_in_row)
			log_info("appmetrics", "app health %s: healthy again\n", url);
		m->fails_in_row = 0;
		m->healthy = true;
		return;
	}
	m->probe_failures++;
	m->fails_in_row++;
	if (r->timed_out)
		snprintf(m->health_why, sizeof(m->health_why), "GET %s: no answer within %u ms", url,
			 m->cfg->app_health_timeout_ms);
	else if (!r->ok)
		snprintf(m->health_why, sizeof(m->health_why), "GET %s: %s", url, r->error);
	else
		snprintf(m->health_why, sizeof(m->health_why), "GET %s: HTTP status %ld", url, r->status);
	if (m->healthy && m->fails_in_row >= threshold) {
		m->healthy = false;
		log_warn("appmetrics", "app health: %s (%u failures in a row): not ready\n", m->health_why,
			 m->fails_in_row);
	}
}

static void health_tick(void *arg)
{
	struct appmetrics *m = arg;
	if (m->probing)
		return;
	unsigned timeout = m->cfg->app_health_timeout_ms;
	unsigned cap = m->cfg->app_health_interval * 1000;
	struct fetch_req req = {
		.url = m->cfg->app_health,
		.timeout_ms = timeout && timeout < cap ? timeout : cap,
		.discard_body = true,
		.pod = &m->a->pod,
	};
	m->probing = fetch_start(m->fx, &req, health_done, m) == 0;
}

static bool health_ready(void *arg, struct strbuf *why)
{
	struct appmetrics *m = arg;
	if (m->healthy)
		return true;
	if (!m->probed)
		sb_printf(why, "GET %s: no probe has completed yet", m->cfg->app_health);
	else
		sb_printf(why, "%s (%u failures in a row)", m->health_why, m->fails_in_row);
	return false;
}

int health_start(struct appmetrics *m)
{
	const struct obsbpf_config *c = m->cfg;
	if (!c->app_health)
		return 0;
	if (!c->app_health_interval) {
		log_error("appmetrics", "--app-health-interval: must be at least 1 second\n");
		return -1;
	}
	m->health_timer = loop_add_timer(m->a->loop, 1, c->app_health_interval * 1000ull, health_tick, m);
	if (!m->health_timer) {
		log_error("appmetrics", "app health: timer: %s", strerror(errno));
		return -1;
	}
	if (http_server_add_ready_check(m->a->http, "app_health", health_ready, m) < 0) {
		log_error("appmetrics", "app health: too many readiness checks\n");
		return -1;
	}
	return 0;
}

void health_stop(struct appmetrics *m)
{
	loop_remove(m->health_timer);
	m->health_timer = NULL;
}

void health_collect(struct appmetrics *m, struct strbuf *out, enum exposition_format f)
{
	if (!m->cfg->app_health)
		return;
	am_family(out, f, "obsbpf_app_health_up", "gauge",
		  "1 while the app's health URL passes its probes (what /readyz reports), else 0.");
	am_sample(m, out, "obsbpf_app_health_up", NULL, m->healthy);
	am_family(out, f, "obsbpf_app_health_probe_failures_total", "counter",
		  "Probes of the app's health URL that failed (error, timeout, or status >= 400).");
	am_sample(m, out, "obsbpf_app_health_probe_failures_total", NULL, (double)m->probe_failures);
}
