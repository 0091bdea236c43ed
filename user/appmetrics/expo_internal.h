/* SPDX-License-Identifier: GPL-2.0 */
/* What the exposition files share (expo_parse.c: the text parser; expo_store.c: families,
 * series and their hash tables; expo_render.c: the text renderers; expo_om.c: what an
 * OpenMetrics MetricPoint may hold). Not for the rest of the agent: expo.h is its interface. */
#ifndef OBSBPF_EXPO_INTERNAL_H
#define OBSBPF_EXPO_INTERNAL_H

#include "expo.h"
#include "util/index.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ftype {
	T_UNTYPED,
	T_COUNTER,
	T_GAUGE,
	T_HISTOGRAM,
	T_SUMMARY,
	T_GAUGEHIST
};

#define NONE UINT32_MAX

struct label {
	char *name, *value;
};

struct sample {
	char *name;
	char *value; /* the token as written, re-emitted when it is a plain decimal */
	double v;
	long long ts_ms;
	bool has_ts;
	uint32_t lbl, nlbl; /* range in doc->labels */
	uint32_t next;	    /* next sample of the same family */
	uint64_t hash;
};

struct family {
	char *name;	    /* as declared (TYPE/HELP) or as the first sample spelled it */
	char *out;	    /* Prometheus family name when it differs from name (owned) */
	const char *prefix; /* set by expo_doc_reserve */
	char *help;
	enum ftype type;
	bool typed;	 /* a TYPE line was seen */
	bool om_counter; /* OpenMetrics counter: samples are name_total (name_created dropped) */
	bool om_info;	 /* OpenMetrics info: samples are name_info */
	bool dropped;
	uint32_t first, last, nsamples;
};

struct expo_doc {
	char *text;
	bool om;
	size_t max_series, max_label_bytes;
	struct family *fams;
	size_t nfam, capfam;
	struct sample *samples;
	size_t ns, caps;
	struct label *labels;
	size_t nl, capl;
	struct index fam_by_name; /* of fams[0 .. nfam-1] */
	struct index series;	  /* of samples[0 .. ns-1] */
	uint32_t cur;		  /* family the previous line belonged to */
	struct expo_stats st;
};

/* expo_store.c */
/* FNV-1a of s continuing from h (FNV1A64_INIT to start), then of a separator byte (0xff, never
 * in UTF-8): strings hashed one after another keep their bounds, ("ab","c") != ("a","bc"). */
uint64_t expo_fnv(uint64_t h, const char *s);
struct family *expo_fam_lookup(struct expo_doc *d, const char *name, uint32_t **slot);
struct family *expo_fam_new(struct expo_doc *d, char *name, uint32_t *slot);
const char *expo_after(const char *name, const char *base);
int expo_fam_match(const struct expo_doc *d, const struct family *f, const char *name);
/* The slot of s's series (same name and labels) in d->series, or the empty one where s goes:
 * write its position + 1 there. NULL on out of memory. */
uint32_t *expo_series_slot(struct expo_doc *d, const struct sample *s);
const char *expo_fam_out(const struct family *f);

/* expo_om.c */
bool expo_point_order(const struct expo_doc *d, const struct family *f, uint32_t *order);
bool expo_om_valid(const struct expo_doc *d, const struct family *f, const uint32_t *order);
void expo_untyped_order(const struct expo_doc *d, const struct family *f, uint32_t *order);
bool expo_om_counter_clash(const struct expo_doc *d, const struct family *f);

#endif
