// SPDX-License-Identifier: GPL-2.0
/* Wiring: tail -> parse/enrich -> chunk -> queue -> forward (or stdout) -> ack -> checkpoint. */
#include "logs.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "agent.h"
#include "config.h"
#include "forward.h"
#include "http/server.h"
#include "loop/loop.h"
#include "parse.h"
#include "record.h"
#include "spool.h"
#include "tail.h"
#include "util/strbuf.h"

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
	size_t chunk_bytes, max_line;
	char state_path[PATH_MAX];
	char root[64];
	char cri_glob[PATH_MAX];
	char forward_host[256], forward_port[8];
	/* counters */
	uint64_t parse_errors, records, stdout_records, stdout_bytes, checkpoint_errors, checkpoints;
	uint64_t cri_errors, invalid_utf8, cri_long_lines;
	struct strbuf labels; /* k8s_pod_name="..",k8s_namespace_name="..",k8s_node_name=".." */
	z_stream z;
	bool z_ready;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void chunk_id(char out[25])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char r[18] = { 0 };
	if (getrandom(r, 16, 0) != 16) {
		uint64_t t = loop_now_ns();
		memcpy(r, &t, sizeof(t));
	}
	int o = 0;
	for (int i = 0; i < 18; i += 3) {
		uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
		for (int k = 3; k >= 0; k--)
			out[o++] = b64[(v >> (6 * k)) & 63];
	}
	out[22] = out[23] = '='; /* 16 bytes: 22 characters and two of padding */
	out[24] = '\0';
}

/* Level 1: log text compresses well even so, and deflate is most of the CPU a chunk costs.
 * One deflate state for the agent's life (deflateReset per chunk): allocating it per chunk
 * left the heap fragmented and the RSS high. */
static int gzip_payload(struct logs *l, struct chunk *c)
{
	z_stream *z = &l->z;
	if (!l->z_ready) {
		if (deflateInit2(z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		l->z_ready = true;
	} else if (deflateReset(z) != Z_OK) {
		return -EIO;
	}
	uLong cap = deflateBound(z, c->len);
	char *out = malloc(cap);
	if (!out)
		return -ENOMEM;
	z->next_in = (Bytef *)c->data;
	z->avail_in = (uInt)c->len;
	z->next_out = (Bytef *)out;
	z->avail_out = (uInt)cap;
	if (deflate(z, Z_FINISH) != Z_STREAM_END) {
		free(out);
		return -EIO;
	}
	size_t n = z->total_out;
	char *shrunk = realloc(out, n ? n : 1);
	free(c->data);
	c->data = shrunk ? shrunk : out;
	c->len = n;
	c->gzip = true;
	return 0;
}

static void on_acked(void *arg, struct chunk *c)
{
	struct logs *l = arg;
	/* chunks are acked in order, so this chunk's offsets cover everything acked so far */
	int err = checkpoint_save(l->state_path, c->pos, c->npos);
	if (err) {
		if (!l->checkpoint_errors++)
			log_error("logs", "logs: checkpoint %s: %s\n", l->state_path, strerror(-err));
	} else {
		l->checkpoints++;
	}
	chunk_free(c);
	tail_kick(l->tail);
}

static void write_stdout(struct logs *l, const struct chunk *c)
{
	struct strbuf sb;
	sb_init(&sb);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	while (msgpack_unpack_next(&u, c->data, c->len, &off) == MSGPACK_UNPACK_SUCCESS) {
		if (log_entry_to_json(&u.data, &sb) == 0) {
			sb_putc(&sb, '\n');
			l->stdout_records++;
		}
	}
	msgpack_unpacked_destroy(&u);
	for (size_t done = 0; done < sb.len;) {
		ssize_t w = write(STDOUT_FILENO, sb.buf + done, sb.len - done);
		if (w <= 0 && errno != EINTR)
			break;
		if (w > 0)
			done += (size_t)w;
	}
	l->stdout_bytes += sb.len;
	sb_free(&sb);
}

static void flush_chunk(struct logs *l)
{
	if (!l->cur_records)
		return;
	struct chunk *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->seq = ++l->seq;
	chunk_id(c->id);
	c->records = l->cur_records;
	c->len = l->cur.size;
	c->data = msgpack_sbuffer_release(&l->cur);
	l->cur_records = 0;
	int n = tail_positions(l->tail, &c->pos);
	c->npos = n < 0 ? 0 : n;
	if (l->to_stdout) {
		write_stdout(l, c);
		on_acked(l, c);
		return;
	}
	if (l->gzip)
		gzip_payload(l, c); /* on failure the chunk goes uncompressed */
	/* -ENOSPC: dropped and counted by the queue (only while the collector is failing) */
	queue_push(&l->q, c, forward_stats(l->fwd)->failing);
	forward_kick(l->fwd);
}

static bool on_line(void *arg, struct tail_file *f, const char *line, size_t len, bool truncated)
{
	struct logs *l = arg;
	const struct tail_file *file = f;
	uint64_t t;
	const char *stream = NULL;
	char sbuf[8];
	if (l->cur.size >= l->chunk_bytes)
		flush_chunk(l); /* before this line: the chunk's offsets cover exactly its lines */
	if (f->cri) {
		struct cri_line cl;
		if (cri_parse(line, len, &cl) == 0) {
			if (!f->cri_partial.len)
				f->cri_time_ns = cl.time_ns;
			if (cl.partial || f->cri_partial.len) {
				size_t room = l->max_line > f->cri_partial.len
					? l->max_line - f->cri_partial.len
					: 0;
				sb_append(&f->cri_partial, cl.msg, cl.msg_len < room ? cl.msg_len : room);
				/* the runtime splits a long line into pieces (16 KiB in containerd): the
				 * message is what must fit in --logs-max-line, and is counted once when not */
				if ((cl.msg_len > room || truncated) && !f->cri_truncated) {
					f->cri_truncated = true;
					l->cri_long_lines += !truncated; /* a cut piece is counted by tail */
				}
				if (cl.partial)
					return false; /* held until the "F" line completes the message */
				line = f->cri_partial.buf;
				len = f->cri_partial.len;
				truncated = f->cri_truncated;
			} else {
				line = cl.msg;
				len = cl.msg_len;
			}
			snprintf(sbuf, sizeof(sbuf), "%.*s", (int)cl.stream_len, cl.stream);
			stream = sbuf;
			t = f->cri_time_ns;
		} else {
			/* not CRI: forwarded as it is; pending "P" pieces keep waiting for their "F" */
			l->cri_errors++;
			t = realtime_ns();
			f = NULL;
		}
	} else {
		t = realtime_ns();
	}
	struct log_parsed r;
	log_parse(&l->parser, line, len, &r);
	l->parse_errors += r.json_error;
	struct log_meta m = { .pod = l->pod.name,
			      .namespace_ = l->pod.namespace_,
			      .node = l->pod.node,
			      .container = file->container,
			      .file = file->name,
			      .stream = stream,
			      .truncated = truncated };
	l->invalid_utf8 += log_record_pack(&l->pk, t, line, len, &r, &m) > 0;
	l->cur_records++;
	l->records++;
	if (f && f->cri) {
		sb_reset(&f->cri_partial);
		f->cri_truncated = false;
	}
	/* with "P" pieces still pending, the checkpoint must stay before them */
	return !file->cri_partial.len;
}

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
	flush_chunk(arg);
}

static void counter(struct strbuf *o, enum exposition_format f, const char *name, const char *help)
{
	http_expo_family(o, f, name, "counter", help);
}

static void gauge(struct strbuf *o, enum exposition_format f, const char *name, const char *help)
{
	http_expo_family(o, f, name, "gauge", help);
}

static void collect(void *arg, struct strbuf *o, enum exposition_format f)
{
	struct logs *l = arg;
	const struct tail_stats *ts = tail_stats(l->tail);
	const char *out = l->to_stdout ? "stdout" : "forward";
	const struct forward_stats *fs = l->fwd ? forward_stats(l->fwd) : NULL;
	static const struct forward_stats none;
	if (!fs)
		fs = &none;
	const char *P = l->labels.buf ? l->labels.buf : "";
	counter(o, f, "obsbpf_logs_lines_read_total", "Lines read from log files.");
	sb_printf(o, "obsbpf_logs_lines_read_total{%s} %" PRIu64 "\n", P, ts->lines);
	counter(o, f, "obsbpf_logs_read_bytes_total", "Bytes read from log files.");
	sb_printf(o, "obsbpf_logs_read_bytes_total{%s} %" PRIu64 "\n", P, ts->bytes);
	counter(o, f, "obsbpf_logs_parse_errors_total",
		"Lines that looked like JSON but did not parse (forwarded as plain text).");
	sb_printf(o, "obsbpf_logs_parse_errors_total{%s} %" PRIu64 "\n", P, l->parse_errors + l->cri_errors);
	counter(o, f, "obsbpf_logs_invalid_utf8_total",
		"Records with bytes that are not UTF-8, forwarded with U+FFFD in their place.");
	sb_printf(o, "obsbpf_logs_invalid_utf8_total{%s} %" PRIu64 "\n", P, l->invalid_utf8);
	counter(o, f, "obsbpf_logs_long_lines_total",
		"Lines longer than --logs-max-line, forwarded truncated.");
	sb_printf(o, "obsbpf_logs_long_lines_total{%s} %" PRIu64 "\n", P, ts->long_lines + l->cri_long_lines);
	counter(o, f, "obsbpf_logs_rotations_total", "Followed files rotated away (renamed or deleted).");
	sb_printf(o, "obsbpf_logs_rotations_total{%s} %" PRIu64 "\n", P, ts->rotations);
	counter(o, f, "obsbpf_logs_truncations_total", "Followed files truncated in place (copytruncate).");
	sb_printf(o, "obsbpf_logs_truncations_total{%s} %" PRIu64 "\n", P, ts->truncations);
	gauge(o, f, "obsbpf_logs_files_open", "Log files followed now.");
	sb_printf(o, "obsbpf_logs_files_open{%s} %d\n", P, ts->files_open);
	gauge(o, f, "obsbpf_logs_files_waiting",
	      "Files matching the log globs not followed yet: --logs-max-files are.");
	sb_printf(o, "obsbpf_logs_files_waiting{%s} %u\n", P, ts->files_waiting);
	counter(o, f, "obsbpf_logs_records_forwarded_total",
		"Records delivered (acked by the collector, or written).");
	sb_printf(o, "obsbpf_logs_records_forwarded_total{%s,output=\"%s\"} %" PRIu64 "\n", P, out,
		  l->to_stdout ? l->stdout_records : fs->records);
	counter(o, f, "obsbpf_logs_forwarded_bytes_total", "Bytes delivered, protocol framing included.");
	sb_printf(o, "obsbpf_logs_forwarded_bytes_total{%s,output=\"%s\"} %" PRIu64 "\n", P, out,
		  l->to_stdout ? l->stdout_bytes : fs->bytes);
	counter(o, f, "obsbpf_logs_retries_total", "Reconnections after a failure or an ack timeout.");
	sb_printf(o, "obsbpf_logs_retries_total{%s,output=\"%s\"} %" PRIu64 "\n", P, out, fs->retries);
	counter(o, f, "obsbpf_logs_ack_timeouts_total",
		"Chunks whose ack did not come in time (sent again).");
	sb_printf(o, "obsbpf_logs_ack_timeouts_total{%s,output=\"%s\"} %" PRIu64 "\n", P, out,
		  fs->ack_timeouts);
	counter(o, f, "obsbpf_logs_send_timeouts_total",
		"Chunks whose sending stalled for --forward-ack-timeout (the collector read nothing; sent again).");
	sb_printf(o, "obsbpf_logs_send_timeouts_total{%s,output=\"%s\"} %" PRIu64 "\n", P, out,
		  fs->send_timeouts);
	counter(o, f, "obsbpf_logs_bad_replies_total",
		"Connections closed because the collector sent something that is no Forward reply (unreadable or too large).");
	sb_printf(o, "obsbpf_logs_bad_replies_total{%s,output=\"%s\"} %" PRIu64 "\n", P, out,
		  fs->bad_replies);
	gauge(o, f, "obsbpf_logs_buffered_records", "Records waiting for the collector's ack.");
	sb_printf(o, "obsbpf_logs_buffered_records{%s,output=\"%s\"} %" PRIu64 "\n", P, out,
		  l->q.records + l->cur_records);
	gauge(o, f, "obsbpf_logs_buffered_bytes", "Bytes of chunks waiting for the collector's ack.");
	sb_printf(o, "obsbpf_logs_buffered_bytes{%s,output=\"%s\",where=\"memory\"} %zu\n", P, out,
		  l->q.mem_bytes + l->cur.size);
	sb_printf(o, "obsbpf_logs_buffered_bytes{%s,output=\"%s\",where=\"spool\"} %zu\n", P, out,
		  l->q.spool_bytes);
	counter(o, f, "obsbpf_logs_dropped_records_total",
		"Records dropped because the buffer and spool were full.");
	sb_printf(o, "obsbpf_logs_dropped_records_total{%s,output=\"%s\"} %" PRIu64 "\n", P, out,
		  l->q.dropped_records);
	counter(o, f, "obsbpf_logs_spool_errors_total",
		"Chunks that could not be written to --logs-spool (disk full...) or read back from it: dropped.");
	sb_printf(o, "obsbpf_logs_spool_errors_total{%s,output=\"%s\"} %" PRIu64 "\n", P, out,
		  l->q.spool_errors);
	counter(o, f, "obsbpf_logs_checkpoint_errors_total", "Failed writes of the offsets state file.");
	sb_printf(o, "obsbpf_logs_checkpoint_errors_total{%s} %" PRIu64 "\n", P, l->checkpoint_errors);
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
	if (cfg->logs_max_line < 16 || cfg->logs_max_line > (64u << 20)) {
		log_error("logs", "--logs-max-line %u: expected 16 to 67108864\n", cfg->logs_max_line);
		return -EINVAL;
	}
	l->max_line = cfg->logs_max_line;
	l->chunk_bytes = (size_t)(cfg->logs_chunk_kb ? cfg->logs_chunk_kb : 1024) * 1024;
	if (cfg->logs_state) {
		snprintf(l->state_path, sizeof(l->state_path), "%s", cfg->logs_state);
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
		l->fwd = forward_new(l->loop, &fo, &l->q, on_acked, l);
		if (!l->fwd)
			return -errno ? -errno : -ENOMEM;
	}
	struct tail_opts to = { .max_line = l->max_line,
				.max_files = cfg->logs_max_files,
				.start = &l->start };
	int g = 0;
	if (l->pod.pid > 0) {
		/* the app's files as the pod sees them: through its mount namespace */
		snprintf(l->root, sizeof(l->root), "/proc/%d/root", (int)l->pod.pid);
		to.root = l->root;
	}
	if (cfg->logs && *cfg->logs) {
		to.rooted[g] = true;
		to.globs[g++] = cfg->logs;
	}
	if (cfg->cri_logs && *cfg->cri_logs && l->pod.name[0]) {
		/* CRI logs belong to the node, not to the pod: no root prefix */
		snprintf(l->cri_glob, sizeof(l->cri_glob), "%s/%s_%s_*.log", cfg->cri_logs, l->pod.name,
			 l->pod.namespace_[0] ? l->pod.namespace_ : "default");
		to.cri[g] = true;
		to.globs[g++] = l->cri_glob;
	}
	l->tail = tail_new(l->loop, &to, on_line, accept_more, l);
	if (!l->tail)
		return -errno ? -errno : -ENOMEM;
	l->flush_timer = loop_add_timer(l->loop, cfg->logs_flush_ms ? cfg->logs_flush_ms : 200,
					cfg->logs_flush_ms ? cfg->logs_flush_ms : 200, on_flush_timer, l);
	if (!l->flush_timer)
		return -errno;
	sb_puts(&l->labels, "k8s_pod_name=\"");
	sb_label_value(&l->labels, l->pod.name);
	sb_puts(&l->labels, "\",k8s_namespace_name=\"");
	sb_label_value(&l->labels, l->pod.namespace_);
	sb_puts(&l->labels, "\",k8s_node_name=\"");
	sb_label_value(&l->labels, l->pod.node);
	sb_putc(&l->labels, '"');
	if (http)
		http_server_add_collector(http, collect, l);
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
	sb_init(&l->labels);
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
		flush_chunk(l);
	/* unacked records are not lost: the checkpoint still points before them */
	loop_remove(l->flush_timer);
	tail_free(l->tail);
	forward_free(l->fwd);
	queue_free(&l->q);
	checkpoint_free(&l->start);
	log_parser_free(&l->parser);
	msgpack_sbuffer_destroy(&l->cur);
	sb_free(&l->labels);
	if (l->z_ready)
		deflateEnd(&l->z);
	free(l);
}
