/* SPDX-License-Identifier: GPL-2.0 */
/* The agent's TLS part (agent_tls.c): OpenSSL uprobes on the pods' libraries, the TLS decoder,
 * "TLS not visible" processes, its counters and /status section. */
#ifndef OBSBPF_AGENT_TLS_H
#define OBSBPF_AGENT_TLS_H

#include "agent.h"
#include "http/server.h"
#include "metrics/red.h"

struct strbuf;

/* After agent_h2_start (TLS's exchanges join HTTP/2's). --tls off: nothing. Returns 0, or -1
 * after one logged line. */
int agent_tls_start(struct agent *a);
void agent_tls_stop(struct agent *a);
void agent_tls_forget_pod(struct agent *a, uint32_t pod_id);
/* obsbpf_tls_* families. */
void agent_tls_render_counters(const struct agent *a, struct strbuf *out, enum exposition_format fmt,
			       const struct pod_labels *l);
/* ,"tls":{...} of /status. */
void agent_tls_status_json(const struct agent *a, struct strbuf *b);

#endif
