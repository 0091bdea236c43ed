/* SPDX-License-Identifier: GPL-2.0 */
/* Turning a parsed line into a Fluent Forward entry [EventTime, record] (msgpack-c), and
 * rendering entries as JSON lines for --logs-out stdout. */
#ifndef OBSBPF_LOGS_RECORD_H
#define OBSBPF_LOGS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "parse.h"

struct strbuf;

/* --log-fields: how a record names where its line came from. */
enum log_fields {
	LF_OBSBPF = 0, /* pod, namespace, ... (attach); k8s_pod_name, ... (daemon) */
	LF_OTEL,       /* OpenTelemetry's resource attributes: k8s.pod.name, k8s.namespace.name, ... */
	LF_FLUENTBIT,  /* "kubernetes": {pod_name, namespace_name, pod_id, host, container_name}, as
			* Fluent Bit's kubernetes filter writes it */
};
/* "obsbpf", "otel", "fluentbit" -> 0 and *out; -1 otherwise. */
int log_fields_parse(const char *s, enum log_fields *out);

/* Where a line came from: the enrichment fields. NULL or "" fields are left out. */
struct log_meta {
	const char *pod;
	const char *namespace_;
	const char *uid;
	const char *node;
	const char *container;
	bool has_restart; /* restart holds the container's restart count (else left out) */
	unsigned restart;
	const char *file;
	const char *stream;	/* CRI: stdout/stderr */
	bool truncated;		/* the line was longer than --logs-max-line: adds "truncated": true */
	bool k8s_keys;		/* k8s_pod_name, k8s_namespace_name, k8s_pod_uid, k8s_node_name,
			     * k8s_container_name, k8s_container_restart_count (daemon mode) instead
			     * of pod, namespace, pod_uid, node, container, container_restart_count */
	enum log_fields fields; /* --log-fields: LF_OBSBPF, the names above */
};

/* Forward spec "EventTime": ext type 0, 4-byte big-endian seconds, 4-byte nanoseconds. */
void pack_event_time(msgpack_packer *pk, uint64_t time_ns);

/* Appends [EventTime, {log, file, pod, namespace, pod_uid, node, container, stream, format,
 * level, trace_id, span_id, container_restart_count, ...fields of a JSON or logfmt line}] to pk
 * (the k8s_* names with m->k8s_keys). A field of the line whose key
 * is one the agent writes is left out of the map (it is still in "log", the original line).
 * Strings are packed as UTF-8, bytes that are not replaced by U+FFFD; returns how many strings
 * needed that (0: the record is the line as it was). A truncated line loses the incomplete
 * character the cut left at its end. */
unsigned log_record_pack(msgpack_packer *pk, uint64_t time_ns, const char *line, size_t len,
			 const struct log_parsed *r, const struct log_meta *m);
/* n, or less so that s[0..n) does not end inside a UTF-8 sequence. */
size_t utf8_cut_end(const char *s, size_t n);

/* Appends one entry as a JSON object {"time": seconds.nanos, ...record} (no newline).
 * Returns 0, or -EINVAL when the object is not a [time, map] entry. */
int log_entry_to_json(const msgpack_object *entry, struct strbuf *out);
/* Appends any msgpack object as JSON. */
void msgpack_to_json(const msgpack_object *o, struct strbuf *out);

#endif
