// SPDX-License-Identifier: GPL-2.0
/* A parsed document's families and series: indexes by name and by series hash,
 * OpenMetrics suffix matching, and which families are reserved or renamed. */
#include "expo_internal.h"

#include "util/array.h"
#include "util/strbuf.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

uint64_t expo_fnv(uint64_t h, const char *s)
{
	static const unsigned char sep = 0xff; /* separator, so ("ab","c") != ("a","bc") */
	return fnv1a64(fnv1a64_str(h, s), &sep, 1);
}

static bool fam_eq(const void *ctx, uint32_t pos, const void *key)
{
	return !strcmp(((const struct expo_doc *)ctx)->fams[pos].name, key);
}

static uint64_t fam_hash(const void *ctx, uint32_t pos)
{
	return expo_fnv(FNV1A64_INIT, ((const struct expo_doc *)ctx)->fams[pos].name);
}

static bool series_eq(const void *ctx, uint32_t pos, const void *key)
{
	const struct expo_doc *d = ctx;
	const struct sample *a = &d->samples[pos], *b = key;
	if (a->hash != b->hash || a->nlbl != b->nlbl || strcmp(a->name, b->name))
		return false;
	for (uint32_t i = 0; i < a->nlbl; i++) {
		const struct label *x = &d->labels[a->lbl + i], *y = &d->labels[b->lbl + i];
		if (strcmp(x->name, y->name) || strcmp(x->value, y->value))
			return false;
	}
	return true;
}

static uint64_t series_hash(const void *ctx, uint32_t pos)
{
	return ((const struct expo_doc *)ctx)->samples[pos].hash;
}

struct family *expo_fam_lookup(struct expo_doc *d, const char *name, uint32_t **slot)
{
	if (!index_reserve(&d->fam_by_name, d->nfam, fam_hash, d))
		return NULL;
	uint32_t *s = index_find(&d->fam_by_name, expo_fnv(FNV1A64_INIT, name), fam_eq, d, name);
	if (slot)
		*slot = s;
	return *s ? &d->fams[*s - 1] : NULL;
}

uint32_t *expo_series_slot(struct expo_doc *d, const struct sample *s)
{
	if (!index_reserve(&d->series, d->ns, series_hash, d))
		return NULL;
	return index_find(&d->series, s->hash, series_eq, d, s);
}

struct family *expo_fam_new(struct expo_doc *d, char *name, uint32_t *slot)
{
	if (!array_grow((void **)&d->fams, &d->capfam, d->nfam + 1, sizeof(*d->fams)))
		return NULL;
	struct family *f = &d->fams[d->nfam];
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->prefix = "";
	f->first = f->last = NONE;
	*slot = (uint32_t)++d->nfam;
	d->cur = (uint32_t)(d->nfam - 1);
	return f;
}

const char *expo_after(const char *name, const char *base)
{
	size_t n = strlen(base);
	return strncmp(name, base, n) ? NULL : name + n;
}

/* 1: the sample belongs to f; -1: it belongs but has no Prometheus form; 0: not f's. */
int expo_fam_match(const struct expo_doc *d, const struct family *f, const char *name)
{
	const char *sfx = expo_after(name, f->name);
	if (!sfx)
		return 0;
	bool created = !strcmp(sfx, "_created") && d->om;
	switch (f->type) {
	case T_UNTYPED:
	case T_GAUGE:
		if (f->om_info)
			return !strcmp(sfx, "_info");
		return !*sfx;
	case T_COUNTER:
		if (f->om_counter)
			return !strcmp(sfx, "_total") ? 1 : created ? -1 : 0;
		return !*sfx;
	case T_HISTOGRAM:
		if (!strcmp(sfx, "_bucket") || !strcmp(sfx, "_sum") || !strcmp(sfx, "_count"))
			return 1;
		return created ? -1 : 0;
	case T_SUMMARY:
		if (!*sfx || !strcmp(sfx, "_sum") || !strcmp(sfx, "_count"))
			return 1;
		return created ? -1 : 0;
	case T_GAUGEHIST:
		return (!strcmp(sfx, "_bucket") || !strcmp(sfx, "_gcount") || !strcmp(sfx, "_gsum") ||
			!strcmp(sfx, "_created"))
			? -1
			: 0;
	}
	return 0;
}

void expo_doc_free(struct expo_doc *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nfam; i++)
		free(d->fams[i].out);
	free(d->fams);
	free(d->samples);
	free(d->labels);
	index_free(&d->fam_by_name);
	index_free(&d->series);
	free(d->text);
	free(d);
}

const struct expo_stats *expo_doc_stats(const struct expo_doc *d)
{
	return &d->st;
}

const char *expo_fam_out(const struct family *f)
{
	return f->out ? f->out : f->name;
}

static bool fam_reserved(const struct expo_doc *d, const struct family *f, expo_reserved_fn r)
{
	if (r(expo_fam_out(f)))
		return true;
	const char *last = NULL;
	for (uint32_t i = f->first; i != NONE; i = d->samples[i].next) {
		const char *n = d->samples[i].name;
		if ((!last || strcmp(n, last)) && r(n))
			return true;
		last = n;
	}
	return false;
}

void expo_doc_reserve(struct expo_doc *d, expo_reserved_fn reserved, const char *prefix)
{
	size_t pl = strlen(prefix);
	for (size_t i = 0; i < d->nfam; i++) {
		struct family *f = &d->fams[i];
		if (!f->nsamples || !fam_reserved(d, f, reserved))
			continue;
		const char *n = expo_fam_out(f);
		bool taken = false;
		for (size_t j = 0; j < d->nfam && !taken; j++) {
			const struct family *g = &d->fams[j];
			const char *o = expo_fam_out(g);
			taken = j != i && g->nsamples && !g->dropped && !*g->prefix &&
				!strncmp(o, prefix, pl) && !strcmp(o + pl, n);
		}
		if (taken) {
			f->dropped = true;
			d->st.clashed++;
			d->st.families--;
			d->st.series -= f->nsamples;
		} else {
			f->prefix = prefix;
			d->st.renamed++;
		}
	}
}
