// SPDX-License-Identifier: GPL-2.0
/* The service graph on /metrics: the pods' names and addresses, the kernel's two views. */
#include "agent_graph.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_h2.h"
#include "metrics/graph_store.h"
#include "metrics/graph.h"
#include "pod/addrs.h"

/* A pod's addresses are read at its first scrape, at every scrape while it has none (the CNI
 * may add them after the pod's first process), and once more a minute after attach. */
#define ADDRS_AGAIN_S 60

static void refresh_addrs(struct agent_pod *ap, time_t now)
{
	bool again = ap->naddrs == 0 ||
		(ap->addrs_read < ap->since + ADDRS_AGAIN_S && now >= ap->since + ADDRS_AGAIN_S);
	if (!again)
		return;
	int n = pod_addrs(ap->info.netns_fd, ap->addrs, (int)(sizeof(ap->addrs) / sizeof(ap->addrs[0])));
	ap->naddrs = n > 0 ? n : 0;
	ap->addrs_read = now;
}

void agent_graph_render(struct agent *a, struct strbuf *out, enum exposition_format fmt,
			const struct dp_hist_entry *h, int nh)
{
	if (!a->cfg->max_graph_peers)
		return;
	struct dp_hist_entry *g = NULL;
	int ng = datapath_read_graph(a->dp, &g), nu = 0;
	/* The exchanges user space decodes (HTTP/2, gRPC, TLS) join the kernel's. */
	const struct dp_hist_entry *u = graph_store_entries(agent_h2_graph(a), &nu);
	struct dp_hist_entry *all = ng >= 0 ? realloc(g, ((size_t)ng + (size_t)nu + 1) * sizeof(*g)) : NULL;
	struct graph_pod *gp = calloc((size_t)a->npods + 1, sizeof(*gp));
	time_t now = time(NULL);
	if (!all || !gp) {
		free(all ? all : g);
		free(gp);
		return;
	}
	g = all;
	if (nu)
		memcpy(g + ng, u, (size_t)nu * sizeof(*u));
	ng += nu;
	for (int i = 0; i < a->npods; i++) {
		struct agent_pod *ap = a->pods[i];
		refresh_addrs(ap, now);
		gp[i] = (struct graph_pod){ .id = ap->id,
					    .name = ap->info.name,
					    .namespace_ = ap->info.namespace_,
					    .addrs = (const char(*)[INET6_ADDRSTRLEN])ap->addrs,
					    .naddrs = ap->naddrs };
	}
	graph_render(out, fmt, a->pod.node, gp, a->npods, h, nh > 0 ? nh : 0, g, ng);
	free(g);
	free(gp);
}
