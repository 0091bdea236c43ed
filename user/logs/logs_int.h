/* SPDX-License-Identifier: GPL-2.0 */
/* Private to logs*.c: the forwarder's state, shared by the wiring (logs.c), the line handler
 * (logs_line.c), chunk delivery (logs_chunk.c) and its metrics (logs_metrics.c). The
 * component's whole interface is logs.h. */
#ifndef OBSBPF_LOGS_INT_H
#define OBSBPF_LOGS_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <zlib.h>

#include "checkpoint.h"
#include "http/server.h"
#include "parse.h"
#include "pod/pod.h"
#include "record.h"
#include "podlog.h"
#include "spool.h"
#include "util/strbuf.h"

struct forward;
struct loop;
struct loop_watch;
struct pod_select;
struct tail;
struct tail_file;

/* Daemon mode: one pod whose container logs are followed (while any of its files is open). */
struct logs_pod {
	char uid[64];
	int files;
	uint64_t lines, unparsed, truncated;
};

/* Daemon mode: a followed container log file (tail_file.meta). */
struct logs_file_meta {
	struct pod_log_file pl;
	struct logs_pod *pod;
};

struct logs {
	struct loop *loop;
	struct pod_info pod;
	struct tail *tail;
	struct forward *fwd;
	struct chunk_queue q;
	struct log_parser parser;
	struct checkpoint start;
	msgpack_sbuffer cur;
	msgpack_packer pk;
	uint32_t cur_records;
	uint64_t seq;
	struct loop_watch *flush_timer;
	bool to_stdout, gzip;
	enum log_fields fields; /* --log-fields */
	size_t chunk_bytes, max_line;
	char state_path[PATH_MAX];
	char root[64];
	char cri_glob[PATH_MAX];
	/* daemon mode: the node's container logs (--pod-logs), of the selected pods */
	bool node;
	const struct pod_select *select;
	char pod_globs[2][PATH_MAX];
	struct logs_pod **pods;
	int npods;
	size_t cap_pods;
	struct strbuf docker_msg; /* a docker json-file line's text, unescaped */
	char forward_host[256], forward_port[8];
	/* counters */
	uint64_t parse_errors, records, stdout_records, stdout_bytes, checkpoint_errors, checkpoints;
	uint64_t cri_errors, invalid_utf8, cri_long_lines;
	struct strbuf labels; /* k8s_pod_name="..",k8s_namespace_name="..",k8s_node_name=".." */
	z_stream z;
	bool z_ready;
};

/* logs_line.c: tail's line callback (tail_line_fn): one line into the current chunk. */
bool logs_on_line(void *arg, struct tail_file *f, const char *line, size_t len, bool truncated);

/* logs_chunk.c: closes the current chunk (when it holds records) and sends it: to the queue
 * and the collector, or to stdout. */
void logs_flush_chunk(struct logs *l);
/* A chunk delivered (forward_acked_fn): its offsets are checkpointed, and it is freed. */
void logs_on_acked(void *arg, struct chunk *c);

/* logs_pods.c: daemon mode's files (tail_meta_fn and its free) and their pods. */
void *logs_pod_file_new(void *arg, const char *path);
void logs_pod_file_free(void *arg, void *meta);
void logs_pods_free(struct logs *l);

/* logs_metrics.c: the obsbpf_logs_* families on /metrics (http_collect_fn). */
void logs_collect(void *arg, struct strbuf *o, enum exposition_format f);

#endif
