/* SPDX-License-Identifier: GPL-2.0 */
/* The running agent: what every component is handed when it starts. `attach` and `daemon` are
 * one code path: start the agent, add pods (one named pod, or those the pod watcher finds),
 * run the loop, stop. Components start in order and stop in reverse order. */
#ifndef OBSBPF_AGENT_H
#define OBSBPF_AGENT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "pod/pod.h"
#include "util/clock.h"

struct loop;
struct http_server;
struct datapath;
struct ctl_server;
struct exemplars;
struct tracer_feed;
struct podwatch;
struct agent_h2;
struct pod_select;
struct appmetrics;
struct logs;

/* One attached pod. info.netns_fd is the agent's own (closed on removal). */
struct agent_pod {
	struct pod_info info;
	uint32_t id; /* pod_id in the kernel maps and events */
	time_t since;
	/* The pod's IP addresses, which name it as another pod's peer in the service graph; read
	 * at attach and again a minute later (the CNI may add them after the pod's first process). */
	char addrs[8][INET6_ADDRSTRLEN];
	int naddrs;
	time_t addrs_read;
};

struct agent {
	const struct obsbpf_config *cfg;
	const char *mode; /* "attach" or "daemon" */
	time_t started;
	struct loop *loop;
	struct http_server *http;
	struct pod_info pod; /* attach: the pod (the app metrics and logs components use it) */
	struct datapath *dp;
	struct exemplars *exemplars; /* trace ids for /metrics in OpenMetrics, fed by ring buffer events */
	struct tracer_feed *spans;   /* span export (spans->t NULL: no --otlp-endpoint), same events */
	struct agent_h2 *h2;	     /* HTTP/2 and gRPC: decoded from the kernel's frames (agent_h2.c) */
	struct agent_tls *tls;	     /* TLS: OpenSSL uprobes and their decoder (agent_tls.c) */
	struct ctl_server *ctl;
	struct podwatch *watch;
	bool propagating;		 /* --propagation is not none */
	const struct pod_select *select; /* daemon: which pods (--namespace, --pod-pattern, ...) */
	struct appmetrics *app;		 /* the app metrics adapter (NULL: not started) */
	struct logs *logs;		 /* log forwarding (NULL: off) */
	struct agent_pod **pods;
	int npods;
	size_t cap_pods;
	uint32_t next_pod_id;	   /* ids are not reused: a late event never lands on another pod */
	struct clock_offset clock; /* event times -> wall clock, for observe lines */
};

/* `obsbpf attach`: resolve, load, attach, serve until SIGINT/SIGTERM, detach. Returns exit code. */
int agent_attach(const struct obsbpf_config *cfg);
/* `obsbpf daemon`: the same for every selected pod of the node, as pods come and go. */
int agent_daemon(const struct obsbpf_config *cfg);

/* Attaches the pod (copied). Returns its pod id, or -errno after one line on stderr. */
int64_t agent_pod_add(struct agent *a, const struct pod_info *p);
void agent_pod_remove(struct agent *a, uint32_t pod_id);
/* The attached pod with this id (ring buffer events carry it), or NULL. */
const struct agent_pod *agent_pod(const struct agent *a, uint32_t pod_id);

#endif
