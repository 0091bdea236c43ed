/* SPDX-License-Identifier: GPL-2.0 */
/* The app metrics adapter: scrapes the app's own Prometheus endpoint from inside the pod,
 * re-exposes it on the agent's /metrics with the pod's labels, probes the app's health URL
 * for /readyz, and pushes /metrics to a Pushgateway when asked. Everything runs on the
 * agent's event loop (libcurl multi). Start after the HTTP server; stop before it. */
#ifndef OBSBPF_APPMETRICS_H
#define OBSBPF_APPMETRICS_H

#include <stdbool.h>

struct agent;
struct appmetrics;

/* Returns NULL after printing one line when an option is unusable (bad --label, ...). */
struct appmetrics *appmetrics_start(struct agent *a);
/* Deletes the Pushgateway group when --pushgateway-delete says so, then frees everything. */
void appmetrics_stop(struct appmetrics *m);

/* Family names the app may not use on our /metrics (the agent's own): such app families are
 * re-exposed as app_<name>. */
bool appmetrics_reserved_name(const char *name);

#endif
