// SPDX-License-Identifier: GPL-2.0
/* Health proxy: probes the app's health URL from inside the pod. Kubernetes' probe rules: any
 * status from 200 to 399 passes; not ready until a probe has passed; unready after N failures in
 * a row; one success recovers. attach folds it into /readyz (/healthz stays about the agent);
 * daemon reports it per pod (obsbpf_app_health_up, the status document): the DaemonSet's own
 * /readyz is about the agent, and one pod's app must not make the node's agent unready. */
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
	struct am_target *t = arg;
	const struct obsbpf_config *c = t->m->cfg;
	const char *url = t->health_url;
	unsigned threshold = c->app_health_failures ? c->app_health_failures : 1;
	t->probing = false;
	t->probed = true;
	if (r->ok && r->status >= 200 && r->status < 400) {
		if (!t->healthy && t->fails_in_row)
			log_info("appmetrics", "app health %s: healthy again\n", url);
		t->fails_in_row = 0;
		t->healthy = true;
		return;
	}
	t->probe_failures++;
	t->fails_in_row++;
	if (r->timed_out)
		snprintf(t->health_why, sizeof(t->health_why), "GET %s: no answer within %u ms", url,
			 c->app_health_timeout_ms);
	else if (!r->ok)
		snprintf(t->health_why, sizeof(t->health_why), "GET %s: %s", url, r->error);
	else
		snprintf(t->health_why, sizeof(t->health_why), "GET %s: HTTP status %ld", url, r->status);
	if (t->healthy && t->fails_in_row >= threshold) {
		t->healthy = false;
		if (t->m->daemon)
			log_warn("appmetrics", "app health of %s%s%s: %s (%u failures in a row): unhealthy\n",
				 t->pod->namespace_, t->pod->namespace_[0] ? "/" : "", t->pod->name,
				 t->health_why, t->fails_in_row);
		else
			log_warn("appmetrics", "app health: %s (%u failures in a row): not ready\n",
				 t->health_why, t->fails_in_row);
	}
}

static void health_tick(void *arg)
{
	struct am_target *t = arg;
	const struct obsbpf_config *c = t->m->cfg;
	if (t->probing)
		return;
	unsigned timeout = c->app_health_timeout_ms;
	unsigned cap = c->app_health_interval * 1000;
	struct fetch_req req = {
		.url = t->health_url,
		.timeout_ms = timeout && timeout < cap ? timeout : cap,
		.discard_body = true,
		.pod = t->pod,
	};
	t->probing = fetch_start(t->m->fx, &req, health_done, t) == 0;
}

static bool health_ready(void *arg, struct strbuf *why)
{
	struct am_target *t = arg;
	if (t->healthy)
		return true;
	if (!t->probed)
		sb_printf(why, "GET %s: no probe has completed yet", t->health_url);
	else
		sb_printf(why, "%s (%u failures in a row)", t->health_why, t->fails_in_row);
	return false;
}

int health_start(struct am_target *t)
{
	const struct obsbpf_config *c = t->m->cfg;
	if (!t->health_url)
		return 0;
	t->health_timer = loop_add_timer(t->m->a->loop, 1, c->app_health_interval * 1000ull, health_tick, t);
	if (!t->health_timer) {
		log_error("appmetrics", "app health: timer: %s", strerror(errno));
		return -1;
	}
	if (!t->m->daemon && http_server_add_ready_check(t->m->a->http, "app_health", health_ready, t) < 0) {
		log_error("appmetrics", "app health: too many readiness checks\n");
		return -1;
	}
	return 0;
}

void health_stop(struct am_target *t)
{
	loop_remove(t->health_timer);
	t->health_timer = NULL;
}

void health_collect(struct appmetrics *m, struct strbuf *out, enum exposition_format f)
{
	bool any = false;
	for (int i = 0; i < m->nt; i++)
		any |= m->t[i]->health_url != NULL;
	if (!any)
		return;
	am_family(out, f, "obsbpf_app_health_up", "gauge",
		  "1 while the app's health URL passes its probes (attach: what /readyz reports), else 0.");
	for (int i = 0; i < m->nt; i++)
		if (m->t[i]->health_url)
			am_sample(m->t[i], out, "obsbpf_app_health_up", NULL, m->t[i]->healthy);
	am_family(out, f, "obsbpf_app_health_probe_failures_total", "counter",
		  "Probes of the app's health URL that failed (error, timeout, or status >= 400).");
	for (int i = 0; i < m->nt; i++)
		if (m->t[i]->health_url)
			am_sample(m->t[i], out, "obsbpf_app_health_probe_failures_total", NULL,
				  (double)m->t[i]->probe_failures);
}
