// SPDX-License-Identifier: GPL-2.0
/* OpenMetrics: one MetricPoint's samples together, and only what the format allows. */
#include "expo_internal.h"

#include "util/array.h"
#include "util/strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The label that tells a histogram's buckets (le) or a summary's quantiles apart within one
 * series; every other label names the series (OpenMetrics' MetricPoint). */
static bool point_label(const struct family *f, const struct sample *s, const struct label *l)
{
	const char *sfx = expo_after(s->name, f->name);
	if (f->type == T_HISTOGRAM)
		return sfx && !strcmp(sfx, "_bucket") && !strcmp(l->name, "le");
	if (f->type == T_SUMMARY)
		return sfx && !*sfx && !strcmp(l->name, "quantile");
	return false;
}

static const struct label *label_of(const struct expo_doc *d, const struct sample *s, const char *name)
{
	for (uint32_t i = 0; i < s->nlbl; i++)
		if (!strcmp(d->labels[s->lbl + i].name, name))
			return &d->labels[s->lbl + i];
	return NULL;
}

/* Order-independent: an app may write a series' labels in a different order per sample. */
static uint64_t point_hash(const struct expo_doc *d, const struct family *f, const struct sample *s)
{
	uint64_t h = 0;
	for (uint32_t i = 0; i < s->nlbl; i++) {
		const struct label *l = &d->labels[s->lbl + i];
		if (!point_label(f, s, l))
			h += expo_fnv(expo_fnv(FNV1A64_INIT, l->name), l->value);
	}
	return h;
}

static bool same_point(const struct expo_doc *d, const struct family *f, const struct sample *a,
		       const struct sample *b)
{
	uint32_t na = 0, nb = 0;
	for (uint32_t i = 0; i < a->nlbl; i++) {
		const struct label *x = &d->labels[a->lbl + i];
		if (point_label(f, a, x))
			continue;
		na++;
		const struct label *y = label_of(d, b, x->name);
		if (!y || point_label(f, b, y) || strcmp(x->value, y->value))
			return false;
	}
	for (uint32_t i = 0; i < b->nlbl; i++)
		nb += !point_label(f, b, &d->labels[b->lbl + i]);
	return na == nb;
}

/* Fills order[0..n) with f's samples, each point's samples together in the order the points
 * first appear (Prometheus text allows a histogram's _sum lines after all its buckets;
 * OpenMetrics does not). Returns false on out of memory. */
bool expo_point_order(const struct expo_doc *d, const struct family *f, uint32_t *order)
{
	uint32_t n = f->nsamples, ng = 0, k = 0;
	size_t cap = 16;
	while (cap < 2 * (size_t)n)
		cap *= 2;
	uint32_t *seq = malloc(n * sizeof(*seq)), *gid = malloc(n * sizeof(*gid));
	uint32_t *rep = malloc(n * sizeof(*rep)), *start = calloc((size_t)n + 1, sizeof(*start));
	uint32_t *tab = calloc(cap, sizeof(*tab));
	bool ok = seq && gid && rep && start && tab;
	for (uint32_t i = f->first; ok && i != NONE; i = d->samples[i].next)
		seq[k++] = i;
	for (uint32_t j = 0; ok && j < n; j++) {
		const struct sample *s = &d->samples[seq[j]];
		size_t at = point_hash(d, f, s) & (cap - 1);
		while (tab[at] && !same_point(d, f, &d->samples[rep[tab[at] - 1]], s))
			at = (at + 1) & (cap - 1);
		if (!tab[at]) {
			rep[ng] = seq[j];
			tab[at] = ++ng;
		}
		gid[j] = tab[at] - 1;
		start[gid[j] + 1]++;
	}
	for (uint32_t g = 0; ok && g < ng; g++)
		start[g + 1] += start[g];
	for (uint32_t j = 0; ok && j < n; j++)
		order[start[gid[j]]++] = seq[j];
	free(seq);
	free(gid);
	free(rep);
	free(start);
	free(tab);
	return ok;
}

static bool whole(double v)
{
	return v >= 0 && v == floor(v);
}

/* Checks one point [a, b) of a histogram or summary against what OpenMetrics requires. */
static bool point_valid(const struct expo_doc *d, const struct family *f, const uint32_t *order, uint32_t a,
			uint32_t b)
{
	bool inf = false, has_sum = false, has_count = false, neg_le = false, any = false;
	double last_le = 0, last = 0, count = 0;
	const struct sample *first = &d->samples[order[a]];
	for (uint32_t j = a; j < b; j++) {
		const struct sample *s = &d->samples[order[j]];
		const char *sfx = expo_after(s->name, f->name);
		/* a point is one instant: all its samples share one timestamp, or none has one */
		if (s->has_ts != first->has_ts || (s->has_ts && s->ts_ms != first->ts_ms))
			return false;
		if (!strcmp(sfx, "_sum")) {
			has_sum = true;
			if (isnan(s->v) || s->v < 0)
				return false;
		} else if (!strcmp(sfx, "_count")) {
			has_count = true;
			count = s->v;
			if (!whole(s->v))
				return false;
		} else if (f->type == T_SUMMARY) {
			const struct label *q = label_of(d, s, "quantile");
			char *e;
			double qv = q ? strtod(q->value, &e) : NAN;
			if (!q || *e || !(qv >= 0 && qv <= 1) || s->v < 0)
				return false;
		} else {
			const struct label *le = label_of(d, s, "le");
			char *e;
			double lv = le ? strtod(le->value, &e) : NAN;
			if (!le || *e || isnan(lv) || (isinf(lv) && strcmp(le->value, "+Inf")) ||
			    (any && lv <= last_le) || !whole(s->v) || s->v < last)
				return false;
			any = true;
			inf = isinf(lv) > 0;
			neg_le |= lv < 0;
			last_le = lv;
			last = s->v;
		}
	}
	if (f->type == T_SUMMARY)
		return has_sum == has_count;
	return inf && has_sum == has_count && (!has_count || count == last) && !(neg_le && has_sum);
}

/* Whether f, in the given order, is a valid OpenMetrics family of its type. */
bool expo_om_valid(const struct expo_doc *d, const struct family *f, const uint32_t *order)
{
	uint32_t n = f->nsamples;
	if (f->type == T_COUNTER) {
		for (uint32_t j = 0; j < n; j++)
			if (isnan(d->samples[order[j]].v) || d->samples[order[j]].v < 0)
				return false;
		return true;
	}
	if (f->type != T_HISTOGRAM && f->type != T_SUMMARY)
		return true;
	for (uint32_t a = 0, b; a < n; a = b) {
		for (b = a + 1; b < n && same_point(d, f, &d->samples[order[a]], &d->samples[order[b]]); b++)
			;
		if (!point_valid(d, f, order, a, b))
			return false;
	}
	return true;
}

/* A family OpenMetrics cannot carry as its type (a histogram without +Inf bucket, a NaN
 * counter...) goes out as untyped samples, grouped by name, rather than as invalid text
 * that would fail the whole scrape. */
void expo_untyped_order(const struct expo_doc *d, const struct family *f, uint32_t *order)
{
	uint32_t n = f->nsamples, k = 0;
	for (uint32_t i = f->first; i != NONE; i = d->samples[i].next) {
		bool seen = false;
		for (uint32_t j = 0; j < k && !seen; j++)
			seen = !strcmp(d->samples[order[j]].name, d->samples[i].name);
		if (seen)
			continue;
		for (uint32_t m = i; m != NONE && k < n; m = d->samples[m].next)
			if (!strcmp(d->samples[m].name, d->samples[i].name))
				order[k++] = m;
	}
}

/* OpenMetrics names a counter family without "_total" and its samples with it: whether
 * another family already has one of those names (0.0.4 text allows a counter "a_total" next
 * to a gauge "a"). Such a counter goes out untyped: the clash would fail the whole scrape. */
bool expo_om_counter_clash(const struct expo_doc *d, const struct family *f)
{
	if (!f->typed || f->type != T_COUNTER)
		return false;
	const char *name = expo_fam_out(f);
	size_t n = strlen(name), pl = strlen(f->prefix);
	if (n > 6 && !strcmp(name + n - 6, "_total"))
		n -= 6;
	char *t = malloc(pl + n + 7); /* prefix + family name, then + "_total" */
	if (!t)
		return false;
	memcpy(t, f->prefix, pl);
	memcpy(t + pl, name, n);
	strcpy(t + pl + n, "_total");
	bool clash = false;
	for (size_t j = 0; j < d->nfam && !clash; j++) {
		const struct family *g = &d->fams[j];
		size_t gl = strlen(g->prefix);
		if (g == f || !g->nsamples || g->dropped || gl > pl + n || strncmp(t, g->prefix, gl))
			continue;
		/* g's full name is t's family name, or t itself (the samples' name) */
		const char *go = expo_fam_out(g), *rest = t + gl;
		size_t rn = pl + n - gl;
		clash = !strcmp(rest, go) || (strlen(go) == rn && !strncmp(rest, go, rn));
	}
	free(t);
	return clash;
}
