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
/* One completed request as a JSON line for `obsbpf observe`; ap may be NULL. */
void agent_event_json(struct agent *a, const struct obsbpf_http_event *e, const struct agent_pod *ap,
		      struct strbuf *b);

#endif
