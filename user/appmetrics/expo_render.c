// SPDX-License-Identifier: GPL-2.0
/* Rendering a parsed document again, as Prometheus text or OpenMetrics, with labels added. */
#include "expo_internal.h"

#include "util/array.h"
#include "util/strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void put_help(struct strbuf *out, const char *s, bool om)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_append(out, "\\\\", 2);
		else if (*s == '\n')
			sb_append(out, "\\n", 2);
		else if (*s == '"' && om)
			sb_append(out, "\\\"", 2);
		else
			sb_putc(out, *s);
	}
}

static const char *type_word(const struct family *f, bool om)
{
	switch (f->type) {
	case T_COUNTER:
		return "counter";
	case T_GAUGE:
		return "gauge";
	case T_HISTOGRAM:
		return "histogram";
	case T_SUMMARY:
		return "summary";
	default:
		return om ? "unknown" : "untyped";
	}
}

static void put_value(struct strbuf *out, const struct sample *s)
{
	if (isnan(s->v))
		sb_puts(out, "NaN");
	else if (isinf(s->v))
		sb_puts(out, s->v > 0 ? "+Inf" : "-Inf");
	else if (strspn(s->value, "0123456789.eE+-") == strlen(s->value))
		sb_puts(out, s->value);
	else
		sb_printf(out, "%.17g", s->v);
}

static void put_labels(struct strbuf *out, const struct expo_doc *d, const struct sample *s,
		       const struct expo_label_set *add, const char *pre)
{
	if (!*pre && !s->nlbl)
		return;
	sb_putc(out, '{');
	sb_puts(out, pre);
	bool comma = *pre;
	for (uint32_t i = 0; i < s->nlbl; i++) {
		const struct label *l = &d->labels[s->lbl + i];
		bool clash = false;
		for (size_t k = 0; add && k < add->n && !clash; k++)
			clash = !strcmp(add->names[k], l->name);
		if (clash) {
			/* Keep the app's value as exported_<name>, unless the app has that too. */
			bool twice = false;
			for (uint32_t j = 0; j < s->nlbl && !twice; j++) {
				const char *o = d->labels[s->lbl + j].name;
				twice = !strncmp(o, "exported_", 9) && !strcmp(o + 9, l->name);
			}
			if (twice)
				continue;
		}
		if (comma)
			sb_putc(out, ',');
		comma = true;
		if (clash)
			sb_puts(out, "exported_");
		sb_puts(out, l->name);
		sb_append(out, "=\"", 2);
		sb_label_value(out, l->value);
		sb_putc(out, '"');
	}
	sb_putc(out, '}');
}

static void put_sample(struct strbuf *out, const struct expo_doc *d, const struct family *f,
		       const struct sample *s, const char *sample_sfx, const struct expo_label_set *add,
		       const char *pre, bool om, bool no_ts)
{
	sb_puts(out, f->prefix);
	sb_puts(out, s->name);
	sb_puts(out, sample_sfx);
	put_labels(out, d, s, add, pre);
	sb_putc(out, ' ');
	put_value(out, s);
	if (s->has_ts && !no_ts) {
		long long ms = s->ts_ms;
		/* unsigned: llabs(LLONG_MIN) overflows (a text timestamp may be that) */
		unsigned long long a = ms < 0 ? 0ull - (unsigned long long)ms : (unsigned long long)ms;
		if (!om)
			sb_printf(out, " %lld", ms);
		else
			sb_printf(out, " %s%llu.%03llu", ms < 0 ? "-" : "", a / 1000, a % 1000);
	}
	sb_putc(out, '\n');
}

static void put_family(struct strbuf *out, const struct expo_doc *d, const struct family *f,
		       const struct expo_label_set *add, const char *pre, bool om, bool no_ts)
{
	uint32_t *order = NULL;
	bool degraded = false;
	if (om && (order = malloc(f->nsamples * sizeof(*order)))) {
		if (!expo_point_order(d, f, order) || !expo_om_valid(d, f, order) ||
		    expo_om_counter_clash(d, f)) {
			expo_untyped_order(d, f, order);
			degraded = true;
		}
	}
	bool typed = f->typed && !degraded;
	const char *name = expo_fam_out(f);
	size_t nlen = strlen(name);
	/* OpenMetrics names a counter family without _total and its samples with it. */
	const char *sample_sfx = "";
	if (om && typed && f->type == T_COUNTER) {
		if (nlen > 6 && !strcmp(name + nlen - 6, "_total"))
			nlen -= 6;
		else
			sample_sfx = "_total";
	}
	if (f->help && !degraded) {
		sb_printf(out, "# HELP %s%.*s ", f->prefix, (int)nlen, name);
		put_help(out, f->help, om);
		sb_putc(out, '\n');
	}
	if (typed)
		sb_printf(out, "# TYPE %s%.*s %s\n", f->prefix, (int)nlen, name, type_word(f, om));
	if (order) {
		for (uint32_t j = 0; j < f->nsamples; j++)
			put_sample(out, d, f, &d->samples[order[j]], sample_sfx, add, pre, om, no_ts);
	} else { /* 0.0.4 text as parsed; or OpenMetrics with no memory to reorder: best effort */
		for (uint32_t i = f->first; i != NONE; i = d->samples[i].next)
			put_sample(out, d, f, &d->samples[i], sample_sfx, add, pre, om, no_ts);
	}
	free(order);
}

void expo_render(const struct expo_doc *d, const struct expo_label_set *add, enum exposition_format f,
		 bool no_timestamps, struct strbuf *out)
{
	struct strbuf pre;
	sb_init(&pre);
	for (size_t k = 0; add && k < add->n; k++) {
		sb_printf(&pre, "%s%s=\"", k ? "," : "", add->names[k]);
		sb_label_value(&pre, add->values[k]);
		sb_putc(&pre, '"');
	}
	for (size_t i = 0; i < d->nfam; i++) {
		const struct family *fam = &d->fams[i];
		if (fam->nsamples && !fam->dropped)
			put_family(out, d, fam, add, pre.buf ? pre.buf : "", f == EXPO_OPENMETRICS,
				   no_timestamps);
	}
	sb_free(&pre);
}
