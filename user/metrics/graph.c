// SPDX-License-Identifier: GPL-2.0
/* The service graph families (graph.h): every series of either view becomes a half edge; sorted
 * by their ends, the halves of one edge sit together and are summed, each view apart. */
#include "graph.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buckets.h"
#include "red.h"
#include "util/strbuf.h"

/* One end: a pod of the agent (pod >= 0) or an address. */
struct end {
	int pod;
	char addr[INET6_ADDRSTRLEN];
};

struct half {
	struct end client, server;
	bool client_view; /* from the client's series; else the server's */
	bool failed;
	const struct obsbpf_hist_val *v;
};

/* What one view saw of an edge. */
struct view {
	uint64_t count, failed, sum_ns;
	uint64_t buckets[OBSBPF_HIST_BUCKETS];
};

static int pod_index(const struct graph_pod *pods, int npods, uint32_t id)
{
	for (int i = 0; i < npods; i++)
		if (pods[i].id == id)
			return i;
	return -1;
}

/* The pods' addresses, sorted, for a binary search per series: a node's pods each have a few. */
struct pod_addr {
	const char *addr;
	int pod;
};

static int cmp_pod_addr(const void *a, const void *b)
{
	return strcmp(((const struct pod_addr *)a)->addr, ((const struct pod_addr *)b)->addr);
}

/* The pod whose address the peer's is; else the address itself ("other": the kernel's map was
 * full and kept no address). */
static struct end peer_end(const struct pod_addr *ix, size_t nix, const struct obsbpf_hist_key *k)
{
	struct end e = { .pod = -1 };
	if (!k->family) {
		strcpy(e.addr, "other");
		return e;
	}
	red_addr_str(k->family, k->peer, e.addr, sizeof(e.addr));
	struct pod_addr probe = { .addr = e.addr };
	const struct pod_addr *hit = nix ? bsearch(&probe, ix, nix, sizeof(*ix), cmp_pod_addr) : NULL;
	if (hit)
		e.pod = hit->pod;
	return e;
}

/* Sorting context: qsort has none, and rendering is single-threaded. */
static const struct graph_pod *sort_pods;

static const char *end_name(const struct end *e)
{
	return e->pod >= 0 ? sort_pods[e->pod].name : e->addr;
}

static const char *end_ns(const struct end *e)
{
	return e->pod >= 0 ? sort_pods[e->pod].namespace_ : "";
}

static int cmp_end(const struct end *a, const struct end *b)
{
	int r = strcmp(end_ns(a), end_ns(b));
	return r ? r : strcmp(end_name(a), end_name(b));
}

static int cmp_half(const void *pa, const void *pb)
{
	const struct half *a = pa, *b = pb;
	int r = cmp_end(&a->client, &b->client);
	return r ? r : cmp_end(&a->server, &b->server);
}

static void view_add(struct view *w, const struct half *h)
{
	w->count += h->v->count;
	w->sum_ns += h->v->sum_ns;
	if (h->failed)
		w->failed += h->v->count;
	for (int b = 0; b < OBSBPF_HIST_BUCKETS; b++)
		w->buckets[b] += h->v->buckets[b];
}

static void edge_labels(struct strbuf *lb, const struct half *h, const char *node)
{
	sb_reset(lb);
	sb_puts(lb, "client=\"");
	sb_label_value(lb, end_name(&h->client));
	sb_puts(lb, "\",server=\"");
	sb_label_value(lb, end_name(&h->server));
	/* An end that is no pod of this agent is the view's guess at a node: Tempo's virtual_node. */
	sb_printf(lb, "\",connection_type=\"%s\",client_k8s_namespace_name=\"",
		  h->client.pod < 0 || h->server.pod < 0 ? "virtual_node" : "");
	sb_label_value(lb, end_ns(&h->client));
	sb_puts(lb, "\",server_k8s_namespace_name=\"");
	sb_label_value(lb, end_ns(&h->server));
	sb_puts(lb, "\",k8s_node_name=\"");
	sb_label_value(lb, node);
	sb_putc(lb, '"');
}

/* The edges: first (of each run of halves), and the two views summed. */
struct edge {
	const struct half *first;
	struct view cl, sv;
};

static size_t collect_edges(const struct half *hs, size_t n, struct edge *out)
{
	size_t ne = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ne || cmp_half(out[ne - 1].first, &hs[i]))
			out[ne++] = (struct edge){ .first = &hs[i] };
		view_add(hs[i].client_view ? &out[ne - 1].cl : &out[ne - 1].sv, &hs[i]);
	}
	return ne;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* A counter family: each edge's requests, or its failed ones. Both views count every request
 * of an edge both ends of which are here: either will do, and the larger of two counters that
 * only grow only grows too. */
static void counter_family(struct strbuf *out, enum exposition_format fmt, struct strbuf *lb,
			   const char *node, const struct edge *es, size_t ne, const char *name,
			   const char *help, bool failed)
{
	http_expo_family(out, fmt, name, "counter", help);
	for (size_t i = 0; i < ne; i++) {
		edge_labels(lb, es[i].first, node);
		uint64_t v = failed ? max_u64(es[i].cl.failed, es[i].sv.failed)
				    : max_u64(es[i].cl.count, es[i].sv.count);
		sb_printf(out, "%s{%s} %llu\n", name, lb->buf, (unsigned long long)v);
	}
}

/* A histogram family: the server's or the client's view, for the edges that have it. */
static void hist_family(struct strbuf *out, enum exposition_format fmt, struct strbuf *lb, const char *node,
			const struct edge *es, size_t ne, const char *name, const char *help, bool server)
{
	http_expo_family(out, fmt, name, "histogram", help);
	for (size_t i = 0; i < ne; i++) {
		const struct view *w = server ? &es[i].sv : &es[i].cl;
		if (!w->count)
			continue;
		edge_labels(lb, es[i].first, node);
		hist_write_series(out, fmt, name, lb->buf, w->buckets, w->count, w->sum_ns, NULL);
	}
}

static void render_edges(struct strbuf *out, enum exposition_format fmt, const char *node,
			 const struct edge *es, size_t ne)
{
	struct strbuf lb;
	sb_init(&lb);
	counter_family(out, fmt, &lb, node, es, ne, "traces_service_graph_request_total",
		       "Requests between two services (pods), from the client's and the server's view.",
		       false);
	counter_family(
		out, fmt, &lb, node, es, ne, "traces_service_graph_request_failed_total",
		"Of those, the failed: a 4xx or 5xx the client got, a 5xx the server sent, no response.",
		true);
	hist_family(out, fmt, &lb, node, es, ne, "traces_service_graph_request_server_seconds",
		    "Duration of the edge's requests as the server saw them, timed in the kernel.", true);
	hist_family(out, fmt, &lb, node, es, ne, "traces_service_graph_request_client_seconds",
		    "Duration of the edge's requests as the client saw them, timed in the kernel.", false);
	if (lb.oom)
		out->oom = true;
	sb_free(&lb);
}

void graph_render(struct strbuf *out, enum exposition_format fmt, const char *node,
		  const struct graph_pod *pods, int npods, const struct dp_hist_entry *h, int nh,
		  const struct dp_hist_entry *g, int ng)
{
	size_t cap = (size_t)(nh > 0 ? nh : 0) + (size_t)(ng > 0 ? ng : 0), n = 0, nix = 0;
	for (int i = 0; i < npods; i++)
		nix += (size_t)pods[i].naddrs;
	struct half *hs = calloc(cap ? cap : 1, sizeof(*hs));
	struct edge *es = calloc(cap ? cap : 1, sizeof(*es));
	struct pod_addr *ix = calloc(nix ? nix : 1, sizeof(*ix));
	if (!hs || !es || !ix) {
		out->oom = true;
		goto out;
	}
	nix = 0;
	for (int i = 0; i < npods; i++)
		for (int j = 0; j < pods[i].naddrs; j++)
			ix[nix++] = (struct pod_addr){ pods[i].addrs[j], i };
	qsort(ix, nix, sizeof(*ix), cmp_pod_addr);
	for (int i = 0; i < nh; i++) {
		const struct obsbpf_hist_key *k = &h[i].key;
		int p = pod_index(pods, npods, k->pod_id);
		if (k->dir != OBSBPF_DIR_CLIENT || p < 0)
			continue;
		/* Failed as the conventions say for a client: 4xx, 5xx, no response. */
		hs[n++] = (struct half){ .client = { .pod = p },
					 .server = peer_end(ix, nix, k),
					 .client_view = true,
					 .failed = red_failed(OBSBPF_DIR_CLIENT, false, 0, k->status),
					 .v = &h[i].val };
	}
	for (int i = 0; i < ng; i++) {
		const struct obsbpf_hist_key *k = &g[i].key;
		int p = pod_index(pods, npods, k->pod_id);
		if (p < 0)
			continue;
		bool cl = k->dir == OBSBPF_DIR_CLIENT;
		struct end pod = { .pod = p }, peer = peer_end(ix, nix, k);
		hs[n++] = (struct half){ .client = cl ? pod : peer,
					 .server = cl ? peer : pod,
					 .client_view = cl,
					 .failed = k->status != 0,
					 .v = &g[i].val };
	}
	sort_pods = pods;
	qsort(hs, n, sizeof(*hs), cmp_half);
	render_edges(out, fmt, node, es, collect_edges(hs, n, es));
out:
	free(hs);
	free(es);
	free(ix);
}
