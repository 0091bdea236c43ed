/* SPDX-License-Identifier: GPL-2.0 */
/* What the agent tells about itself: the status document (docs/status.md; `obsbpf status`
 * and GET /status) and each request as an `obsbpf observe` line. */
#ifndef OBSBPF_AGENT_STATUS_H
#define OBSBPF_AGENT_STATUS_H

#include "agent.h"
#include "util/strbuf.h"

#include <obsbpf/types.h>

/* The status document, as one JSON object (arg: the struct agent). */
void agent_status_json(void *arg, struct strbuf *b);
/* GET /status (an http_server handler). */
int agent_handle_status(void *arg, struct strbuf *b, const char **ctype);
/* One completed request, whatever saw it, as a JSON line for `obsbpf observe`; ap may be
 * NULL. */
struct observed {
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC */
	uint8_t dir;
	const struct obsbpf_addrs *addrs; /* NULL: unknown */
	const char *protocol;		  /* "http/1.1", "h2", "grpc" */
	const char *method, *route;
	unsigned status;
	int grpc_status; /* -1: not a gRPC call */
	const struct obsbpf_trace *trace;
};
void agent_observed_json(struct agent *a, const struct observed *o, const struct agent_pod *ap,
			 struct strbuf *b);
/* A kernel event (HTTP/1) as such a line. */
void agent_event_json(struct agent *a, const struct obsbpf_http_event *e, const struct agent_pod *ap,
		      struct strbuf *b);

#endif
