/* SPDX-License-Identifier: GPL-2.0 */
/* The service graph, in the families Grafana's service graph view reads (the ones Tempo's and
 * the OpenTelemetry Collector's servicegraph connector write): traces_service_graph_request_total,
 * _request_failed_total, _request_server_seconds and _request_client_seconds, labelled client,
 * server and connection_type. An edge is built from both of its ends where both are pods of this
 * agent: the client's view from its client series (http_hist, keyed by server address), the
 * server's from graph_hist (keyed by client address). A peer address that is one of the pods' own
 * is named by that pod; any other stays its address, with connection_type "virtual_node". A pure
 * function of a snapshot, so it is unit-tested without a kernel. */
#ifndef OBSBPF_GRAPH_H
#define OBSBPF_GRAPH_H

#include <arpa/inet.h>
#include <stdint.h>

#include "bpf/datapath.h"
#include "http/server.h"

struct strbuf;

/* One pod of the agent: its id in the kernel maps, its name and namespace, and its addresses
 * (text, as red_addr_str writes them), which name it when they are a peer's. */
struct graph_pod {
	uint32_t id;
	const char *name;
	const char *namespace_; /* "" when not known */
	const char (*addrs)[INET6_ADDRSTRLEN];
	int naddrs;
};

/* Renders the four families from the kernel's client series (h, every dir; only the client ones
 * are read) and the per-peer series of graph_hist and graph_store (g: key dir is the pod's side,
 * status 1 marks the failed), labelled k8s_node_name=node too.
 * Edges of pods not in pods (one detached meanwhile) are left out. */
void graph_render(struct strbuf *out, enum exposition_format fmt, const char *node,
		  const struct graph_pod *pods, int npods, const struct dp_hist_entry *h, int nh,
		  const struct dp_hist_entry *g, int ng);

#endif
