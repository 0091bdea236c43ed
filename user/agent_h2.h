/* SPDX-License-Identifier: GPL-2.0 */
/* The agent's HTTP/2 and gRPC part (agent_h2.c): decoder, histograms, spans, observe lines. */
#ifndef OBSBPF_AGENT_H2_H
#define OBSBPF_AGENT_H2_H

#include "agent.h"
#include "http/server.h"
#include "metrics/red.h"

#include <obsbpf/types.h>

struct strbuf;
struct hist_store;
struct graph_store;
struct h2_exchange;
struct h2_tracker;

/* Starts decoding the kernel's h2_events (after datapath_watch_events). tc: span contexts are
 * made only when propagating. Returns 0, or -1 after one logged line. */
int agent_h2_start(struct agent *a, const struct obsbpf_trace_cfg *tc);
/* After datapath_close: nothing calls into it any more. */
void agent_h2_stop(struct agent *a);
void agent_h2_forget_pod(struct agent *a, uint32_t pod_id);
/* An exchange ends (arg: a->h2): histograms, span, observe line. The TLS decoder's too. */
void agent_h2_exchange(void *arg, const struct h2_exchange *x);
/* The decoder, which the TLS decoder feeds HTTP/2 inside TLS to. */
struct h2_tracker *agent_h2_tracker(struct agent *a);
/* The HTTP/2 and gRPC series, for /metrics (NULL before start). */
const struct hist_store *agent_h2_hist(const struct agent *a);
/* Its exchanges' service graph views (NULL: none). */
const struct graph_store *agent_h2_graph(const struct agent *a);
/* The decoder's own counters (agent_counters carries its drop reasons). */
void agent_h2_counters(const struct agent *a, struct agent_counters *c);
/* obsbpf_h2_* families. */
void agent_h2_render_counters(const struct agent *a, struct strbuf *out, enum exposition_format fmt,
			      const struct pod_labels *l);

#endif
