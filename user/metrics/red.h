/* SPDX-License-Identifier: GPL-2.0 */
/* Renders the in-kernel RED histograms and the agent's own counters as Prometheus text 0.0.4
 * or OpenMetrics 1.0 (with exemplars). Pure functions of a snapshot, so they are unit-tested
 * without a kernel. */
#ifndef OBSBPF_RED_H
#define OBSBPF_RED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/datapath.h"
#include "http/server.h"

struct strbuf;
struct exemplars;
struct exemplar;
struct hist_store;

struct pod_labels {
	const char *pod;
	const char *namespace_;
	const char *node;
};

const char *red_method_name(unsigned method);
/* One obsbpf_* sample line: name{extra,pod labels} value (extra may be NULL). */
void red_sample(struct strbuf *out, const char *name, const char *extra, const struct pod_labels *l,
		uint64_t v);

/* A pod's id in the kernel maps and its labels. */
#define RED_ANY_POD 0xffffffffu /* matches every pod id (one-pod rendering) */
struct red_pod {
	uint32_t id;
	struct pod_labels l;
};

/* http_server_request_duration_seconds and http_client_request_duration_seconds, every entry
 * under the labels l; in OpenMetrics, buckets carry the exemplars of ex (may be NULL). */
void red_render(struct strbuf *out, enum exposition_format fmt, const struct pod_labels *l,
		const struct dp_hist_entry *h, int nh, const struct dp_route *routes, int nroutes,
		const struct exemplars *ex);
/* The same for several pods: each entry under its pod's labels; entries of pod ids not in pods
 * (a pod detached meanwhile) are left out. */
void red_render_pods(struct strbuf *out, enum exposition_format fmt, const struct red_pod *pods, int npods,
		     const struct dp_hist_entry *h, int nh, const struct dp_route *routes, int nroutes,
		     const struct exemplars *ex);

/* As red_render_pods, with the HTTP/2 series of us joining the HTTP families, and the gRPC
 * families (rpc_*_duration_seconds) after them. */
void red_render_families(struct strbuf *out, enum exposition_format fmt, const struct red_pod *pods,
			 int npods, const struct dp_hist_entry *h, int nh, const struct dp_route *routes,
			 int nroutes, const struct exemplars *ex, const struct hist_store *us);

/* The HTTP duration families' own labels (OTel HTTP semantic conventions 1.26), one order for
 * the kernel's series and the user-space ones: http_request_method, http_response_status_code
 * (absent when there was no response), http_route, error_type (a server's 5xx, a client's 4xx
 * and 5xx, or why there was no response), network_protocol_version,
 * server_address and server_port (client series), url_scheme. No trailing comma. */
struct red_http {
	uint8_t dir;
	const char *method;
	unsigned status;
	const char *route;
	const char *version;	    /* "1.0", "1.1", "2" */
	const char *server_address; /* client series; NULL: left out */
	unsigned server_port;
	bool tls;
};
void red_http_labels(struct strbuf *out, const struct red_http *h);
/* Whether an exchange failed as the semantic conventions count it on its side: HTTP, a 5xx
 * served or a 4xx/5xx received; gRPC, a server's UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED,
 * INTERNAL, UNAVAILABLE or DATA_LOSS, a client's any status but OK. */
bool red_failed(uint8_t dir, bool rpc, int grpc_status, unsigned status);
/* error.type of an exchange that got no response (status: enum obsbpf_no_response): "timeout",
 * "connection_reset", "connection_closed"; NULL for an HTTP status. */
const char *red_no_response_name(unsigned status);
/* An address of struct obsbpf_addrs as text; IPv4-mapped IPv6 as IPv4. */
void red_addr_str(uint16_t family, const uint8_t *ip, char *out, size_t n);

/* Pieces the user-space histograms (hist_store.c) render with: the pod's label pairs, the pod
 * of an id (NULL: not rendered), an OpenMetrics exemplar. */
void red_pod_label_set(struct strbuf *out, const struct pod_labels *l);
const struct pod_labels *red_labels_for(const struct red_pod *pods, int npods, uint32_t pod_id);
void red_put_exemplar(struct strbuf *out, const struct exemplar *e);

struct agent_counters {
	uint64_t stats[OBSBPF_ST_MAX];
	uint64_t events_read;
	unsigned routes_used;
	unsigned routes_max;
	unsigned exemplar_series;   /* series holding exemplars */
	uint64_t exemplars_dropped; /* sampled events with no slot: the store was full */
	/* HTTP/2 connections user space gave up (the kernel's own reasons are in stats) */
	uint64_t h2_hpack, h2_block, h2_order, h2_limit;
	long release_waiting; /* client connections asking to leave the sockhash, still in it */
};

/* obsbpf_* families: connections, unparsed traffic, events, route table. l->pod NULL: the
 * counters are node-wide (several pods), labelled k8s_node_name only. */
void agent_counters_render(struct strbuf *out, enum exposition_format fmt, const struct pod_labels *l,
			   const struct agent_counters *c);

#endif
