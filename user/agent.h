/* The running agent: what every component is handed when it starts. main.c builds it,
 * starts the components in order, runs the loop and stops them in reverse order. */
#ifndef OBSBPF_AGENT_H
#define OBSBPF_AGENT_H

#include "config.h"
#include "pod/pod.h"

struct loop;
struct http_server;
struct datapath;
struct exemplars;
struct tracer_feed;

struct agent {
	const struct obsbpf_config *cfg;
	struct loop *loop;
	struct http_server *http;
	struct pod_info pod;
	struct datapath *dp;
	struct exemplars *exemplars; /* trace ids for /metrics in OpenMetrics, fed by ring buffer events */
	struct tracer_feed *spans;   /* span export (NULL: no --otlp-endpoint), fed by the same events */
};

/* `obsbpf attach`: resolve, load, attach, serve until SIGINT/SIGTERM, detach. Returns exit code. */
int agent_attach(const struct obsbpf_config *cfg);

#endif
