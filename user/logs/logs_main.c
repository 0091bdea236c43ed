// SPDX-License-Identifier: GPL-2.0
/* `obsbpf logs`: the log forwarder on its own, for nodes or tests without BPF. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "http/server.h"
#include "logs.h"
#include "loop/loop.h"

int logs_run(const struct obsbpf_config *cfg)
{
	struct agent a = { .cfg = cfg };
	struct pod_info *p = &a.pod;
	int rc = 1;
	p->netns_fd = -1;
	snprintf(p->name, sizeof(p->name), "%s", cfg->pod ? cfg->pod : "");
	snprintf(p->namespace_, sizeof(p->namespace_), "%s", cfg->namespace_ ? cfg->namespace_ : "default");
	const char *node = cfg->node ? cfg->node : getenv("NODE_NAME");
	if (node)
		snprintf(p->node, sizeof(p->node), "%s", node);
	else if (gethostname(p->node, sizeof(p->node) - 1))
		p->node[0] = '\0';
	if (!cfg->forward && !(cfg->logs_out && !strcmp(cfg->logs_out, "stdout"))) {
		fprintf(stderr,
			"obsbpf logs: nothing to do: give --forward HOST:PORT or --logs-out stdout\n");
		return 2;
	}
	a.loop = loop_new();
	if (!a.loop || loop_stop_on_signals(a.loop) < 0) {
		fprintf(stderr, "obsbpf logs: event loop: %s\n", strerror(errno));
		goto out;
	}
	if (cfg->listen && *cfg->listen) {
		struct http_server_opts ho = { .listen = cfg->listen,
					       .idle_timeout_s = cfg->http_idle_timeout,
					       .max_connections = cfg->http_max_conns,
					       .max_per_ip = 8 };
		a.http = http_server_start(&ho, a.loop);
		if (!a.http)
			goto out;
	}
	struct logs *l;
	if (logs_start(&a, &l) < 0 || !l)
		goto out;
	rc = loop_run(a.loop) < 0 ? 1 : 0;
	logs_stop(l);
out:
	http_server_stop(a.http);
	loop_free(a.loop);
	return rc;
}
