/* SPDX-License-Identifier: GPL-2.0 */
/* The app metrics adapter: scrapes the app's own Prometheus endpoint from inside the pod,
 * re-exposes it on the agent's /metrics with the pod's labels, probes the app's health URL
 * for /readyz, and pushes /metrics to a Pushgateway when asked. Everything runs on the
 * agent's event loop (libcurl multi). Start after the HTTP server; stop before it. */
#ifndef OBSBPF_APPMETRICS_H
#define OBSBPF_APPMETRICS_H

#include <stdbool.h>
#include <stdint.h>

struct agent;
struct appmetrics;

/* Returns NULL after printing one line when an option is unusable (bad --label, ...). Serves the
 * pods a->pods holds already: attach, its pod (its health folded into /readyz); daemon, each
 * attached pod as its --app-metrics-rule or the options say (health per pod, in /metrics and the
 * status document, not in /readyz, which stays the agent's). */
struct appmetrics *appmetrics_start(struct agent *a);
/* Deletes the Pushgateway group when --pushgateway-delete says so, then frees everything. */
void appmetrics_stop(struct appmetrics *m);

/* Daemon mode: a pod was attached (0, or -errno: nothing started for it) / is being detached
 * (its scrapes and probes stop, its series leave /metrics). */
struct agent_pod;
int appmetrics_pod_add(struct appmetrics *m, const struct agent_pod *ap);
void appmetrics_pod_remove(struct appmetrics *m, uint32_t pod_id);

/* One pod's app metrics and health, for the status document. false: nothing on for the pod. */
struct appmetrics_pod_status {
	const char *url; /* NULL: no scrape */
	unsigned interval;
	bool up;
	unsigned long long scrapes;
	unsigned series;
	const char *error;	/* why the last scrape failed, NULL after a good one */
	const char *health_url; /* NULL: no probe */
	bool probed, healthy;
	const char *health_error; /* why the app is unhealthy, NULL when it is not */
};
bool appmetrics_pod_status(const struct appmetrics *m, uint32_t pod_id, struct appmetrics_pod_status *out);

/* Family names the app may not use on our /metrics (the agent's own): such app families are
 * re-exposed as app_<name>. */
bool appmetrics_reserved_name(const char *name);

#endif
