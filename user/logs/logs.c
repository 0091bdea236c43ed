// SPDX-License-Identifier: GPL-2.0
/* The forwarder's wiring: options checked, then tail -> parse/enrich -> chunk -> queue ->
 * forward (or stdout) -> ack -> checkpoint put together on the loop, and taken apart. Each
 * line's path is logs_line.c, a chunk's logs_chunk.c, the counters logs_metrics.c. */
#include "logs.h"
#include "logs_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "forward.h"
#include "loop/loop.h"
#include "tail.h"
#include "util/log.h"

static bool accept_more(void *arg)
{
	struct logs *l = arg;
	/* A live collector that is slower than the files, or one still being connected to: stop
	 * reading, the files are the buffer. A failing one: keep reading into the spool, so that
	 * rotation does not take unread lines away; past the spool chunks are dropped and counted. */
	return l->to_stdout || !queue_mem_full(&l->q) || forward_stats(l->fwd)->failing;
}

static void on_flush_timer(void *arg)
{
	logs_flush_chunk(arg);
}

static int configure(struct logs *l, const struct obsbpf_config *cfg)
{
	l->to_stdout = cfg->logs_out && !strcmp(cfg->logs_out, "stdout");
	if (cfg->logs_out && !l->to_stdout && strcmp(cfg->logs_out, "forward")) {
		log_error("logs", "--logs-out %s: expected forward or stdout\n", cfg->logs_out);
		return -EINVAL;
	}
	if (!l->to_stdout &&
	    forward_parse_addr(cfg->forward, l->forward_host, sizeof(l->forward_host), l->forward_port,
			       sizeof(l->forward_port))) {
		log_error("logs", "--forward %s: expected HOST:PORT\n", cfg->forward);
		return -EINVAL;
	}
	if (cfg->forward_mode && strcmp(cfg->forward_mode, "packed") &&
	    strcmp(cfg->forward_mode, "forward")) {
		log_error("logs", "--forward-mode %s: expected packed or forward\n", cfg->forward_mode);
		return -EINVAL;
	}
	l->gzip = cfg->forward_compress && !strcmp(cfg->forward_compress, "gzip");
	if (cfg->forward_compress && !l->gzip && strcmp(cfg->forward_compress, "none")) {
		log_error("logs", "--forward-compress %s: expected none or gzip\n", cfg->forward_compress);
		return -EINVAL;
	}
	if (log_fields_parse(cfg->log_fields ? cfg->log_fields : "obsbpf", &l->fields) < 0) {
		log_error("logs", "--log-fields %s: expected obsbpf, otel or fluentbit\n", cfg->log_fields);
		return -EINVAL;
	}
	if (cfg->logs_max_line < 16 || cfg->logs_max_line > (64u << 20)) {
		log_error("logs", "--logs-max-line %u: expected 16 to 67108864\n", cfg->logs_max_line);
		return -EINVAL;
	}
	l->max_line = cfg->logs_max_line;
	l->chunk_bytes = (size_t)(cfg->logs_chunk_kb ? cfg->logs_chunk_kb : 1024) * 1024;
	if (cfg->logs_state) {
		snprintf(l->state_path, sizeof(l->state_path), "%s", cfg->logs_state);
	} else if (l->node) {
		mkdir("/var/lib/obsbpf", 0755);
		snprintf(l->state_path, sizeof(l->state_path), "/var/lib/obsbpf/logs-daemon.state");
	} else {
		mkdir("/var/lib/obsbpf", 0755);
		snprintf(l->state_path, sizeof(l->state_path), "/var/lib/obsbpf/logs-%s_%s.state",
			 l->pod.namespace_[0] ? l->pod.namespace_ : "default",
			 l->pod.name[0] ? l->pod.name : "pod");
	}
	return 0;
}

static int start_parts(struct logs *l, const struct obsbpf_config *cfg, struct http_server *http)
{
	int err = checkpoint_load(l->state_path, &l->start);
	if (err) {
		log_error("logs", "logs: state file %s: %s\n", l->state_path,
			  err == -EINVAL ? "not an obsbpf checkpoint" : strerror(-err));
		return err;
	}
	/* written back at once: a state file that cannot be written should stop the start, not
	 * surface at the first ack */
	err = checkpoint_save(l->state_path, l->start.pos, l->start.n);
	if (err) {
		log_error("logs", "logs: state file %s: %s\n", l->state_path, strerror(-err));
		return err;
	}
	err = queue_init(&l->q, (size_t)cfg->logs_buffer_mb << 20, cfg->logs_spool,
			 (size_t)cfg->logs_spool_mb << 20);
	if (err) {
		log_error("logs", "--logs-spool %s: %s\n", cfg->logs_spool, strerror(-err));
		return err;
	}
	if (!l->to_stdout) {
		char host[256] = "obsbpf";
		gethostname(host, sizeof(host) - 1);
		struct forward_opts fo = {
			.host = l->forward_host,
			.port = l->forward_port,
			.tag = cfg->logs_tag ? cfg->logs_tag : "obsbpf.logs",
			.packed = !cfg->forward_mode || !strcmp(cfg->forward_mode, "packed"),
			.shared_key = cfg->forward_shared_key,
			.self_hostname = l->pod.node[0] ? l->pod.node : host,
			.ack_timeout_ms = cfg->forward_ack_timeout_ms ? cfg->forward_ack_timeout_ms : 10000,
			.retry_min_ms = 250,
			.retry_max_ms = cfg->forward_backoff_max_ms > 250 ? cfg->forward_backoff_max_ms : 250,
		};
		l->fwd = forward_new(l->loop, &fo, &l->q, logs_on_acked, l);
		if (!l->fwd)
			return -errno ? -errno : -ENOMEM;
	}
	struct tail_opts to = { .max_line = l->max_line,
				.max_files = cfg->logs_max_files,
				.start = &l->start };
	int g = 0;
	if (l->node) {
		/* the node's container logs: current and rotated (not compressed) files, each
		 * named by its path; the runtime's format, CRI or docker's json-file */
		pod_log_globs(cfg->pod_logs, l->pod_globs[0], l->pod_globs[1], sizeof(l->pod_globs[0]));
		for (; g < 2; g++) {
			to.cri[g] = true;
			to.globs[g] = l->pod_globs[g];
		}
		to.meta = logs_pod_file_new;
		to.meta_free = logs_pod_file_free;
	} else if (l->pod.pid > 0) {
		/* the app's files as the pod sees them: through its mount namespace */
		snprintf(l->root, sizeof(l->root), "/proc/%d/root", (int)l->pod.pid);
		to.root = l->root;
	}
	if (!l->node && cfg->logs && *cfg->logs) {
		to.rooted[g] = true;
		to.globs[g++] = cfg->logs;
	}
	if (!l->node && cfg->cri_logs && *cfg->cri_logs && l->pod.name[0]) {
		/* CRI logs belong to the node, not to the pod: no root prefix */
		snprintf(l->cri_glob, sizeof(l->cri_glob), "%s/%s_%s_*.log", cfg->cri_logs, l->pod.name,
			 l->pod.namespace_[0] ? l->pod.namespace_ : "default");
		to.cri[g] = true;
		to.globs[g++] = l->cri_glob;
	}
	l->tail = tail_new(l->loop, &to, logs_on_line, accept_more, l);
	if (!l->tail)
		return -errno ? -errno : -ENOMEM;
	l->flush_timer = loop_add_timer(l->loop, cfg->logs_flush_ms ? cfg->logs_flush_ms : 200,
					cfg->logs_flush_ms ? cfg->logs_flush_ms : 200, on_flush_timer, l);
	if (!l->flush_timer)
		return -errno;
	if (!l->node) { /* daemon: the forwarder is the node's, its counters too */
		sb_puts(&l->labels, "k8s_pod_name=\"");
		sb_label_value(&l->labels, l->pod.name);
		sb_puts(&l->labels, "\",k8s_namespace_name=\"");
		sb_label_value(&l->labels, l->pod.namespace_);
		sb_puts(&l->labels, "\",");
	}
	sb_puts(&l->labels, "k8s_node_name=\"");
	sb_label_value(&l->labels, l->pod.node);
	sb_putc(&l->labels, '"');
	if (http)
		http_server_add_collector(http, logs_collect, l);
	return 0;
}

int logs_start(struct agent *a, struct logs **out)
{
	const struct obsbpf_config *cfg = a->cfg;
	bool to_stdout = cfg->logs_out && !strcmp(cfg->logs_out, "stdout");
	*out = NULL;
	if (!cfg->forward && !to_stdout)
		return 0; /* off */
	struct logs *l = calloc(1, sizeof(*l));
	if (!l) {
		log_error("logs", "logs: out of memory");
		return -1;
	}
	l->loop = a->loop;
	l->pod = a->pod;
	l->node = a->mode && !strcmp(a->mode, "daemon");
	l->select = a->select;
	if (l->node && (!cfg->pod_logs || !*cfg->pod_logs)) {
		log_error("logs", "daemon: log forwarding needs --pod-logs (the kubelet's pod logs)\n");
		free(l);
		return -1;
	}
	sb_init(&l->labels);
	sb_init(&l->docker_msg);
	msgpack_sbuffer_init(&l->cur);
	msgpack_packer_init(&l->pk, &l->cur, msgpack_sbuffer_write);
	int err = configure(l, cfg);
	if (!err)
		err = log_parser_init(&l->parser);
	if (!err)
		err = start_parts(l, cfg, a->http);
	if (err) {
		logs_stop(l);
		return -1;
	}
	*out = l;
	return 0;
}

void logs_stop(struct logs *l)
{
	if (!l)
		return;
	if (l->to_stdout && l->tail)
		logs_flush_chunk(l);
	/* unacked records are not lost: the checkpoint still points before them */
	loop_remove(l->flush_timer);
	tail_free(l->tail);
	forward_free(l->fwd);
	queue_free(&l->q);
	checkpoint_free(&l->start);
	log_parser_free(&l->parser);
	msgpack_sbuffer_destroy(&l->cur);
	sb_free(&l->labels);
	sb_free(&l->docker_msg);
	logs_pods_free(l);
	if (l->z_ready)
		deflateEnd(&l->z);
	free(l);
}
