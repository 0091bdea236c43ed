/* SPDX-License-Identifier: GPL-2.0 */
/* The service graph of the agent's pods (user/metrics/graph.h) on /metrics. */
#ifndef OBSBPF_AGENT_GRAPH_H
#define OBSBPF_AGENT_GRAPH_H

#include "bpf/datapath.h"
#include "http/server.h"

struct agent;
struct strbuf;

/* Renders the traces_service_graph_* families from the kernel's client series h (already read
 * for the HTTP families) and its server side's series per client address; nothing when
 * --max-graph-peers is 0. */
void agent_graph_render(struct agent *a, struct strbuf *out, enum exposition_format fmt,
			const struct dp_hist_entry *h, int nh);

#endif
