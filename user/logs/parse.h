/* SPDX-License-Identifier: GPL-2.0 */
/* Log line parsing and enrichment: JSON, logfmt, plain text and the CRI container log format.
 * The parser only finds things (format, level, trace context, fields); record.c turns the
 * result into a Fluent Forward entry. */
#ifndef OBSBPF_LOGS_PARSE_H
#define OBSBPF_LOGS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct json_tokener;

enum log_format {
	LOG_PLAIN,
	LOG_JSON,
	LOG_LOGFMT
};

#define LOGFMT_MAX_PAIRS 64

struct logfmt_pair {
	const char *key;
	size_t key_len;
	const char *val; /* without the quotes when quoted */
	size_t val_len;
	bool quoted; /* value may hold \" and \\ escapes */
};

struct log_parsed {
	enum log_format format;
	bool json_error;   /* looked like JSON ('{') but did not parse: kept as plain text */
	const char *level; /* normalised: "error", "warn", ...; NULL when not found */
	char trace_id[33]; /* lowercase hex, "" when absent */
	char span_id[17];
	struct json_object *json; /* LOG_JSON: the object (owned by the parser, valid until next parse) */
	struct logfmt_pair pairs[LOGFMT_MAX_PAIRS];
	int npairs;
};

struct log_parser {
	struct json_tokener *tok;
	struct json_object *last;
};

int log_parser_init(struct log_parser *p);
void log_parser_free(struct log_parser *p);

/* Parses one line (no trailing newline). Never fails: what is not JSON or logfmt is plain. */
void log_parse(struct log_parser *p, const char *line, size_t len, struct log_parsed *out);

/* Normalises a level word ("ERROR", "Warning", "err", "I") to "error"/"warn"/...; NULL if unknown. */
const char *log_level_normalize(const char *s, size_t n);

/* Copies a trace id (16 or 32 hex digits) lowercased into out[33]; a span id (16) into out[17].
 * Return false (and leave out empty) when the value is not such an id. */
bool trace_id_valid_copy(const char *s, size_t n, char out[33]);
bool span_id_valid_copy(const char *s, size_t n, char out[17]);

/* Finds a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>") anywhere in s. */
bool find_traceparent(const char *s, size_t n, char trace_id[33], char span_id[17]);

/* CRI log line: "2016-10-06T00:17:09.669794202Z stdout F message". */
struct cri_line {
	uint64_t time_ns;   /* realtime nanoseconds */
	const char *stream; /* "stdout"/"stderr" (points into the line) */
	size_t stream_len;
	bool partial; /* tag P: the message continues in the next line */
	const char *msg;
	size_t msg_len;
};
/* Returns 0, or -EINVAL when the line is not in CRI format. */
int cri_parse(const char *line, size_t len, struct cri_line *out);

/* A docker json-file log line: {"log":"text\n","stream":"stdout","time":"<RFC 3339>"} (the kubelet's
 * files are links to these on docker nodes). The text, unescaped, is put in msg (out->msg points
 * there) without its "\n"; out->partial when it had none (docker splits lines longer than
 * 16 KiB so). Returns 0, or -EINVAL when the line is no such object. */
struct strbuf;
int docker_json_parse(struct log_parser *p, const char *line, size_t len, struct cri_line *out,
		      struct strbuf *msg);

/* RFC 3339 with optional fraction and Z or +hh:mm; returns 0 and sets *ns. */
int rfc3339_parse_ns(const char *s, size_t n, uint64_t *ns);

#endif
