// SPDX-License-Identifier: GPL-2.0
/* The forwarder's counters and gauges on /metrics (obsbpf_logs_*): lines read, records
 * delivered, buffered, dropped, and the collector's failures. */
#include "logs_int.h"

#include <inttypes.h>

#include "forward.h"
#include "tail.h"

static void counter(struct strbuf *o, enum exposition_format f, const char *name, const char *help)
{
	http_expo_family(o, f, name, "counter", help);
}

static void gauge(struct strbuf *o, enum exposition_format f, const char *name, const char *help)
{
	http_expo_family(o, f, name, "gauge", help);
}

void logs_collect(void *arg, struct strbuf *o, enum exposition_format f)
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
