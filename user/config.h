/* Everything the command line can set. Filled from the option table in cli/options.c. */
#ifndef OBSBPF_CONFIG_H
#define OBSBPF_CONFIG_H

#include <stdbool.h>

struct obsbpf_config {
	/* pod selection */
	const char *pod;
	const char *namespace_;
	const char *node;
	const char *cgroup;
	const char *netns;
	/* HTTP endpoint */
	const char *listen;
	unsigned http_idle_timeout;
	unsigned http_max_conns;
	/* data plane */
	unsigned max_routes;
	/* misc */
	bool verbose;
	bool help;
};

#endif
