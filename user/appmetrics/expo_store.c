// SPDX-License-Identifier: GPL-2.0
/* A parsed document's families and series: open-addressing tables by name and by series hash,
 * OpenMetrics suffix matching, and which families are reserved or renamed. */
#include "expo_internal.h"

#include "util/array.h"
#include "util/strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

uint64_t expo_fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (h ^ 0xff) * 1099511628211ull; /* separator, so ("ab","c") != ("a","bc") */
}

/* Open addressing, kept at most half full; the caller's eq() decides what an entry matches. */
bool expo_table_full(const struct table *t)
{
	return (t->n + 1) * 2 > t->cap;
}

uint32_t *expo_table_find(struct table *t, uint64_t h, bool (*eq)(void *, uint32_t, const void *), void *ctx,
			  const void *key)
{
	size_t mask = t->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t *s = &t->slot[i];
		if (!*s || eq(ctx, *s - 1, key))
			return s;
	}
}

static bool fam_eq(void *ctx, uint32_t idx, const void *key)
{
	return !strcmp(((struct expo_doc *)ctx)->fams[idx].name, key);
}

bool expo_series_eq(void *ctx, uint32_t idx, const void *key)
{
	struct expo_doc *d = ctx;
	const struct sample *a = &d->samples[idx], *b = key;
	if (a->hash != b->hash || a->nlbl != b->nlbl || strcmp(a->name, b->name))
		return false;
	for (uint32_t i = 0; i < a->nlbl; i++) {
		const struct label *x = &d->labels[a->lbl + i], *y = &d->labels[b->lbl + i];
		if (strcmp(x->name, y->name) || strcmp(x->value, y->value))
			return false;
	}
	return true;
}

static uint64_t fam_hash(const struct family *f)
{
	return expo_fnv(FNV0, f->name);
}

int expo_table_rehash(struct expo_doc *d, struct table *t, bool fams)
{
	size_t cap = t->cap ? t->cap * 2 : 256;
	uint32_t *old = t->slot;
	size_t oldcap = t->cap;
	t->slot = calloc(cap, sizeof(*t->slot));
	if (!t->slot) {
		t->slot = old;
		return -ENOMEM;
	}
	t->cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i])
			continue;
		uint32_t idx = old[i] - 1;
		uint64_t h = fams ? fam_hash(&d->fams[idx]) : d->samples[idx].hash;
		size_t mask = cap - 1, j = h & mask;
		while (t->slot[j])
			j = (j + 1) & mask;
		t->slot[j] = old[i];
	}
	free(old);
	return 0;
}

struct family *expo_fam_lookup(struct expo_doc *d, const char *name, uint32_t **slot)
{
	if (expo_table_full(&d->fam_by_name) && expo_table_rehash(d, &d->fam_by_name, true) < 0)
		return NULL;
	uint32_t *s = expo_table_find(&d->fam_by_name, expo_fnv(FNV0, name), fam_eq, d, name);
	if (slot)
		*slot = s;
	return *s ? &d->fams[*s - 1] : NULL;
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
	d->fam_by_name.n++;
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
	free(d->fam_by_name.slot);
	free(d->series.slot);
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
