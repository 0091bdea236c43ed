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
	/* logs (user/logs) */
	const char *logs;
	const char *cri_logs;
	const char *forward;
	const char *logs_out;
	const char *forward_mode;
	const char *forward_compress;
	const char *forward_shared_key;
	const char *logs_tag;
	const char *logs_state;
	const char *logs_spool;
	unsigned logs_buffer_mb;
	unsigned logs_spool_mb;
	unsigned logs_max_line;
	unsigned logs_flush_ms;
	unsigned logs_chunk_kb;
	unsigned forward_ack_timeout_ms;
	/* misc */
	bool verbose;
	bool help;
};

#endif
