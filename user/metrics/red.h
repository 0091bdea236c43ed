/* Renders the in-kernel RED histograms and the agent's own counters as Prometheus text. Pure
 * functions of a snapshot, so they are unit-tested without a kernel. */
#ifndef OBSBPF_RED_H
#define OBSBPF_RED_H

#include <stdint.h>

#include "../bpf/datapath.h"
#include "../http/server.h"

struct strbuf;

struct pod_labels {
	const char *pod;
	const char *namespace_;
	const char *node;
};

const char *red_method_name(unsigned method);

/* A pod's id in the kernel maps and its labels. */
#define RED_ANY_POD 0xffffffffu /* matches every pod id (one-pod rendering) */
struct red_pod {
	uint32_t id;
	struct pod_labels l;
};

/* http_server_request_duration_seconds and http_client_request_duration_seconds, every entry
 * under the labels l. */
void red_render(struct strbuf *out, enum exposition_format fmt, const struct pod_labels *l,
		const struct dp_hist_entry *h, int nh, const struct dp_route *routes, int nroutes);
/* The same for several pods: each entry under its pod's labels; entries of pod ids not in pods
 * (a pod detached meanwhile) are left out. */
void red_render_pods(struct strbuf *out, enum exposition_format fmt, const struct red_pod *pods, int npods,
		     const struct dp_hist_entry *h, int nh, const struct dp_route *routes, int nroutes);

struct agent_counters {
	uint64_t stats[OBSBPF_ST_MAX];
	uint64_t events_read;
	unsigned routes_used;
	unsigned routes_max;
};

/* obsbpf_* families: connections, unparsed traffic, events, route table. l->pod NULL: the
 * counters are node-wide (several pods), labelled k8s_node_name only. */
void agent_counters_render(struct strbuf *out, const struct pod_labels *l, const struct agent_counters *c);

#endif
