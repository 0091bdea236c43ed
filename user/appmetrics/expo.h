/* SPDX-License-Identifier: GPL-2.0 */
/* The Prometheus text exposition format (0.0.4) and OpenMetrics 1.0 text: a parser that
 * turns an app's scrape into families of samples, and a renderer that writes them back
 * with the pod's labels added, in either format.
 *
 * The parsed form is Prometheus text's: a counter family is named like its samples
 * ("foo_total"), OpenMetrics-only types become their nearest Prometheus type (info and
 * stateset: gauge; unknown: untyped), and what has no Prometheus equivalent is dropped and
 * counted (gaugehistogram families, _created samples). Exemplars and UNIT lines are read
 * and ignored. A scrape with any malformed line is rejected as a whole, as Prometheus does:
 * a partial histogram would be worse than none. */
#ifndef OBSBPF_APPMETRICS_EXPO_H
#define OBSBPF_APPMETRICS_EXPO_H

#include <stdbool.h>
#include <stddef.h>

#include "http/server.h"

struct strbuf;
struct expo_doc;

struct expo_parse_opts {
	bool openmetrics;	/* the body is OpenMetrics (Content-Type said so): requires "# EOF" */
	size_t max_series;	/* 0: no limit; more is an error */
	size_t max_label_bytes; /* 0: no limit; a longer label value (unescaped), label name or
				 * metric name is an error */
};

struct expo_stats {
	unsigned families;   /* rendered families */
	unsigned series;     /* rendered series */
	unsigned dup_series; /* a series repeated within one scrape: first kept */
	unsigned dup_meta;   /* a second HELP or TYPE for one family: first kept */
	unsigned dropped;    /* samples with no Prometheus form (_created, gaugehistogram) */
	unsigned renamed;    /* families renamed because they clash with the agent's own */
	unsigned clashed;    /* families dropped because even the new name was taken */
};

/* Parses len bytes of text. On failure returns -EINVAL (or -E2BIG past max_series, -EMSGSIZE
 * past max_label_bytes, -ENOMEM) and writes a one-line reason such as "line 12: bad label value" into err. */
int expo_parse(struct expo_doc **out, const char *text, size_t len, const struct expo_parse_opts *o,
	       struct strbuf *err);
/* The same on text the document takes over (len + 1 bytes from malloc; freed with the document,
 * or at once on failure): a scrape's body is parsed without a copy of it. */
int expo_parse_take(struct expo_doc **out, char *text, size_t len, const struct expo_parse_opts *o,
		    struct strbuf *err);
void expo_doc_free(struct expo_doc *d);
const struct expo_stats *expo_doc_stats(const struct expo_doc *d);

/* Says whether a family name belongs to someone else (the agent's own families). */
typedef bool (*expo_reserved_fn)(const char *name);

/* Renames every family whose name, or the name of one of its samples, is reserved: they
 * become prefix + name. A family whose new name is taken too is dropped. Counted in stats. */
void expo_doc_reserve(struct expo_doc *d, expo_reserved_fn reserved, const char *prefix);

struct expo_label_set {
	const char *const *names;
	const char *const *values;
	size_t n;
};

/* Appends the document with `add` put on every series. An app label with the same name as
 * an added one is kept as "exported_<name>" (Prometheus' honor_labels=false rule).
 * Timestamps are written unless no_timestamps (the Pushgateway refuses them). */
void expo_render(const struct expo_doc *d, const struct expo_label_set *add, enum exposition_format f,
		 bool no_timestamps, struct strbuf *out);

/* The documents of several targets (each with its own added labels, docs[k] NULL: none) as one
 * exposition: a family that several of them have is one block (one HELP and TYPE, as the formats
 * require), their samples one document after the other. A family whose type differs from the
 * first document's of that name is left out for that document; conflicts[k] (when not NULL)
 * gets the samples left out of docs[k]. Returns 0 or -ENOMEM (out then holds what fitted). */
int expo_render_merged(const struct expo_doc *const *docs, const struct expo_label_set *sets, size_t n,
		       enum exposition_format f, bool no_timestamps, unsigned *conflicts, struct strbuf *out);

/* Valid Prometheus metric / label names. */
bool expo_valid_metric_name(const char *s);
bool expo_valid_label_name(const char *s);

#endif
