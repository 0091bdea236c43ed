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

/* The order in which f's samples are written (OpenMetrics: MetricPoints together; NULL: as
 * parsed), and whether the family must go out untyped (OpenMetrics cannot carry it as its type). */
static uint32_t *fam_order(const struct expo_doc *d, const struct family *f, bool om, bool *degraded)
{
	uint32_t *order = NULL;
	*degraded = false;
	if (om && (order = malloc(f->nsamples * sizeof(*order)))) {
		if (!expo_point_order(d, f, order) || !expo_om_valid(d, f, order) ||
		    expo_om_counter_clash(d, f)) {
			expo_untyped_order(d, f, order);
			*degraded = true;
		}
	}
	return order;
}

/* OpenMetrics names a counter family without _total and its samples with it. */
static const char *fam_name(const struct family *f, bool om, bool typed, size_t *nlen)
{
	const char *name = expo_fam_out(f);
	*nlen = strlen(name);
	if (om && typed && f->type == T_COUNTER) {
		if (*nlen > 6 && !strcmp(name + *nlen - 6, "_total"))
			*nlen -= 6;
		else
			return "_total";
	}
	return "";
}

static void put_header(struct strbuf *out, const struct family *f, bool om, bool typed, bool degraded)
{
	size_t nlen;
	const char *name = expo_fam_out(f);
	fam_name(f, om, typed, &nlen);
	if (f->help && !degraded) {
		sb_printf(out, "# HELP %s%.*s ", f->prefix, (int)nlen, name);
		put_help(out, f->help, om);
		sb_putc(out, '\n');
	}
	if (typed)
		sb_printf(out, "# TYPE %s%.*s %s\n", f->prefix, (int)nlen, name, type_word(f, om));
}

static void put_samples(struct strbuf *out, const struct expo_doc *d, const struct family *f,
			const uint32_t *order, bool typed, const struct expo_label_set *add, const char *pre,
			bool om, bool no_ts)
{
	size_t nlen;
	const char *sample_sfx = fam_name(f, om, typed, &nlen);
	if (order) {
		for (uint32_t j = 0; j < f->nsamples; j++)
			put_sample(out, d, f, &d->samples[order[j]], sample_sfx, add, pre, om, no_ts);
	} else { /* 0.0.4 text as parsed; or OpenMetrics with no memory to reorder: best effort */
		for (uint32_t i = f->first; i != NONE; i = d->samples[i].next)
			put_sample(out, d, f, &d->samples[i], sample_sfx, add, pre, om, no_ts);
	}
}

static void put_family(struct strbuf *out, const struct expo_doc *d, const struct family *f,
		       const struct expo_label_set *add, const char *pre, bool om, bool no_ts)
{
	bool degraded;
	uint32_t *order = fam_order(d, f, om, &degraded);
	bool typed = f->typed && !degraded;
	put_header(out, f, om, typed, degraded);
	put_samples(out, d, f, order, typed, add, pre, om, no_ts);
	free(order);
}

static void label_prefix(struct strbuf *pre, const struct expo_label_set *add)
{
	for (size_t k = 0; add && k < add->n; k++) {
		sb_printf(pre, "%s%s=\"", k ? "," : "", add->names[k]);
		sb_label_value(pre, add->values[k]);
		sb_putc(pre, '"');
	}
}

static bool fam_rendered(const struct family *f)
{
	return f->nsamples && !f->dropped;
}

void expo_render(const struct expo_doc *d, const struct expo_label_set *add, enum exposition_format f,
		 bool no_timestamps, struct strbuf *out)
{
	struct strbuf pre;
	sb_init(&pre);
	label_prefix(&pre, add);
	for (size_t i = 0; i < d->nfam; i++) {
		const struct family *fam = &d->fams[i];
		if (fam_rendered(fam))
			put_family(out, d, fam, add, pre.buf ? pre.buf : "", f == EXPO_OPENMETRICS,
				   no_timestamps);
	}
	sb_free(&pre);
}

/* expo_render_merged: one group per family name (its output name, prefix included), in the
 * order the names first appear; the members are that family in each document. */
struct mgroup {
	char *name;
	uint32_t first, last; /* members */
};
struct mmember {
	uint32_t doc, fam, next;
	uint32_t *order;
	bool degraded;
};
struct merge {
	struct mgroup *g;
	size_t ng, capg;
	struct mmember *m;
	size_t nm, capm;
	struct index ix;
};

static bool group_eq(const void *ctx, uint32_t pos, const void *key)
{
	return !strcmp(((const struct merge *)ctx)->g[pos].name, key);
}

static uint64_t group_hash(const void *ctx, uint32_t pos)
{
	return expo_fnv(FNV1A64_INIT, ((const struct merge *)ctx)->g[pos].name);
}

static int merge_add(struct merge *mg, uint32_t doc, uint32_t fam, const struct family *f)
{
	struct strbuf key;
	sb_init(&key);
	sb_puts(&key, f->prefix);
	sb_puts(&key, expo_fam_out(f));
	if (key.oom || !index_reserve(&mg->ix, mg->ng, group_hash, mg) ||
	    !array_grow((void **)&mg->m, &mg->capm, mg->nm + 1, sizeof(*mg->m))) {
		sb_free(&key);
		return -ENOMEM;
	}
	uint32_t *slot = index_find(&mg->ix, expo_fnv(FNV1A64_INIT, key.buf), group_eq, mg, key.buf);
	uint32_t mi = (uint32_t)mg->nm++;
	mg->m[mi] = (struct mmember){ .doc = doc, .fam = fam, .next = NONE };
	if (*slot) {
		struct mgroup *g = &mg->g[*slot - 1];
		mg->m[g->last].next = mi;
		g->last = mi;
		sb_free(&key);
		return 0;
	}
	if (!array_grow((void **)&mg->g, &mg->capg, mg->ng + 1, sizeof(*mg->g))) {
		sb_free(&key);
		mg->nm--;
		return -ENOMEM;
	}
	mg->g[mg->ng] = (struct mgroup){ .name = sb_steal(&key, NULL), .first = mi, .last = mi };
	*slot = (uint32_t)++mg->ng;
	return 0;
}

static void merge_free(struct merge *mg)
{
	for (size_t i = 0; i < mg->ng; i++)
		free(mg->g[i].name);
	for (size_t i = 0; i < mg->nm; i++)
		free(mg->m[i].order);
	free(mg->g);
	free(mg->m);
	index_free(&mg->ix);
}

/* A member whose family has another type than the group's first (or is typed where it is not)
 * cannot share its block: left out, its samples counted. */
static bool same_kind(const struct family *a, const struct family *b)
{
	return a->type == b->type && a->typed == b->typed && a->om_counter == b->om_counter;
}

static void put_group(struct strbuf *out, const struct expo_doc *const *docs, const struct strbuf *pre,
		      const struct expo_label_set *sets, struct merge *mg, const struct mgroup *g,
		      unsigned *conflicts, bool om, bool no_ts)
{
	const struct family *head = &docs[mg->m[g->first].doc]->fams[mg->m[g->first].fam];
	bool degraded = false;
	for (uint32_t i = g->first; i != NONE; i = mg->m[i].next) {
		struct mmember *mm = &mg->m[i];
		const struct family *f = &docs[mm->doc]->fams[mm->fam];
		if (!same_kind(head, f))
			continue;
		mm->order = fam_order(docs[mm->doc], f, om, &mm->degraded);
		degraded |= mm->degraded;
	}
	/* one member OpenMetrics cannot carry as its type: the whole block goes out untyped */
	bool typed = head->typed && !degraded;
	const struct family *help = head;
	for (uint32_t i = g->first; !help->help && i != NONE; i = mg->m[i].next)
		if (same_kind(head, &docs[mg->m[i].doc]->fams[mg->m[i].fam]))
			help = &docs[mg->m[i].doc]->fams[mg->m[i].fam];
	struct family hdr = *head;
	hdr.help = help->help;
	put_header(out, &hdr, om, typed, degraded);
	for (uint32_t i = g->first; i != NONE; i = mg->m[i].next) {
		const struct mmember *mm = &mg->m[i];
		const struct expo_doc *d = docs[mm->doc];
		const struct family *f = &d->fams[mm->fam];
		if (!same_kind(head, f)) {
			if (conflicts)
				conflicts[mm->doc] += f->nsamples;
			continue;
		}
		if (om && degraded && !mm->degraded && mm->order)
			expo_untyped_order(d, f, mm->order);
		put_samples(out, d, f, mm->order, typed, &sets[mm->doc],
			    pre[mm->doc].buf ? pre[mm->doc].buf : "", om, no_ts);
	}
}

int expo_render_merged(const struct expo_doc *const *docs, const struct expo_label_set *sets, size_t n,
		       enum exposition_format f, bool no_timestamps, unsigned *conflicts, struct strbuf *out)
{
	struct merge mg = { 0 };
	struct strbuf *pre = calloc(n ? n : 1, sizeof(*pre));
	int err = pre ? 0 : -ENOMEM;
	for (size_t k = 0; !err && k < n; k++) {
		if (conflicts)
			conflicts[k] = 0;
		sb_init(&pre[k]);
		label_prefix(&pre[k], &sets[k]);
		for (size_t i = 0; docs[k] && !err && i < docs[k]->nfam; i++)
			if (fam_rendered(&docs[k]->fams[i]))
				err = merge_add(&mg, (uint32_t)k, (uint32_t)i, &docs[k]->fams[i]);
	}
	for (size_t i = 0; !err && i < mg.ng; i++)
		put_group(out, docs, pre, sets, &mg, &mg.g[i], conflicts, f == EXPO_OPENMETRICS,
			  no_timestamps);
	for (size_t k = 0; pre && k < n; k++)
		sb_free(&pre[k]);
	free(pre);
	merge_free(&mg);
	return err;
}
