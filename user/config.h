/* SPDX-License-Identifier: GPL-2.0 */
/* Everything the command line can set. Filled from the option table in cli/options_table.c. */
#ifndef OBSBPF_CONFIG_H
#define OBSBPF_CONFIG_H

#include <stdbool.h>

/* The cluster's private ranges: RFC 1918, loopback, IPv6 unique-local and loopback. */
#define OBSBPF_DEFAULT_INJECT_TO "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,fc00::/7,::1/128"

/* A repeatable option's values, in command-line order. */
#define OPT_LIST_MAX 16
struct str_list {
	const char *v[OPT_LIST_MAX];
	unsigned n;
};

struct obsbpf_config {
	/* pod selection */
	const char *pod;
	const char *namespace_;
	const char *node;
	const char *cgroup;
	const char *netns;
	/* daemon mode: which pods (user/pod/kubepods.h) */
	struct str_list pod_patterns;
	const char *pod_list;
	const char *pod_logs; /* the kubelet's pod log directories: identity, and logs */
	/* control socket (user/ctl): the agent listens, status/observe connect */
	const char *control_socket;
	bool json;
	/* HTTP endpoint */
	const char *listen;
	unsigned http_idle_timeout;
	unsigned http_max_conns;
	bool status_remote; /* /status to non-loopback clients too */
	/* data plane */
	unsigned max_routes;
	unsigned max_conns;
	unsigned max_graph_peers; /* service graph: graph_hist's size; 0: off */
	unsigned max_h2_conns;	  /* per pod */
	const char *tls;	  /* "openssl" or "off" (user/agent_tls.c) */
	unsigned max_tls_conns;
	const char *tc_hook;
	const char *pin_dir;
	/* trace propagation in the kernel */
	const char *propagation;
	const char *sample_ratio;
	const char *propagate; /* always|sampled */
	const char *inject_to;
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
	unsigned logs_max_files;
	unsigned logs_flush_ms;
	unsigned logs_chunk_kb;
	unsigned forward_ack_timeout_ms;
	unsigned forward_backoff_max_ms;
	/* app metrics adapter, health proxy, Pushgateway (appmetrics/) */
	const char *app_metrics;
	struct str_list app_metrics_rules; /* daemon: per-pod settings (appmetrics/rules.h) */
	unsigned app_metrics_interval;
	unsigned app_metrics_timeout_ms;
	unsigned app_metrics_max_series;
	unsigned app_metrics_max_mb;
	unsigned app_metrics_max_label_bytes;
	struct str_list labels;
	const char *app_health;
	unsigned app_health_interval;
	unsigned app_health_timeout_ms;
	unsigned app_health_failures;
	const char *pushgateway;
	const char *pushgateway_job;
	unsigned pushgateway_interval;
	bool pushgateway_delete;
	unsigned pushgateway_timeout_ms;
	const char *histogram_buckets; /* otel|fine (metrics/buckets.h) */
	const char *url_query;	       /* strip|keep (trace/span.c) */
	const char *log_fields;	       /* obsbpf|otel|fluentbit (logs/record.h) */
	/* spans (trace/) */
	const char *service_name;
	const char *otlp_endpoint;
	const char *otlp_protocol;
	struct str_list otlp_headers; /* NAME=VALUE */
	const char *otlp_compression;
	const char *otlp_ca_file;
	const char *otlp_client_cert;
	const char *otlp_client_key;
	unsigned otlp_batch;
	unsigned otlp_flush_ms;
	unsigned otlp_queue;
	unsigned otlp_timeout_ms;
	unsigned otlp_backoff_max_ms;
	/* misc */
	const char *config; /* --config FILE (or $OBSBPF_CONFIG) */
	char *config_text;  /* that file's contents: its values point into it (options_free) */
	bool verbose;
	const char *log_level;
	const char *log_format;
	bool help;
};

#endif
