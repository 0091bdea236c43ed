// SPDX-License-Identifier: GPL-2.0
/* A dense array of series with a hash index over their keys (util/index.h). */
#include "graph_store.h"

#include <stdlib.h>
#include <string.h>

#include "buckets.h"
#include "util/array.h"
#include "util/index.h"

struct graph_store {
	struct dp_hist_entry *v;
	size_t n, cap;
	unsigned max;
	struct index ix;
	uint64_t other;
};

static uint64_t key_hash(const struct obsbpf_hist_key *k)
{
	return fnv1a64(FNV1A64_INIT, k, sizeof(*k));
}

static uint64_t pos_hash(const void *ctx, uint32_t pos)
{
	return key_hash(&((const struct graph_store *)ctx)->v[pos].key);
}

static bool pos_eq(const void *ctx, uint32_t pos, const void *key)
{
	return !memcmp(&((const struct graph_store *)ctx)->v[pos].key, key, sizeof(struct obsbpf_hist_key));
}

struct graph_store *graph_store_new(unsigned max)
{
	struct graph_store *s = calloc(1, sizeof(*s));
	if (s)
		s->max = max;
	return s;
}

void graph_store_free(struct graph_store *s)
{
	if (!s)
		return;
	free(s->v);
	index_free(&s->ix);
	free(s);
}

/* The series of k, made when new and (unless it is an address-less key) there is room. */
static struct dp_hist_entry *get(struct graph_store *s, const struct obsbpf_hist_key *k)
{
	uint64_t h = key_hash(k);
	uint32_t *slot = index_find(&s->ix, h, pos_eq, s, k);
	if (slot && *slot)
		return &s->v[*slot - 1];
	if ((k->family && s->n >= s->max) || !index_reserve(&s->ix, s->n, pos_hash, s) ||
	    !array_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)))
		return NULL;
	slot = index_find(&s->ix, h, pos_eq, s, k);
	struct dp_hist_entry *e = &s->v[s->n];
	memset(e, 0, sizeof(*e));
	e->key = *k;
	*slot = (uint32_t)++s->n;
	return e;
}

void graph_store_record(struct graph_store *s, uint32_t pod_id, uint8_t dir, const struct obsbpf_addrs *a,
			bool failed, uint64_t ns)
{
	struct obsbpf_hist_key k = { .pod_id = pod_id, .status = failed, .dir = dir };
	if (a) {
		k.family = (uint8_t)a->family;
		memcpy(k.peer, a->remote, sizeof(k.peer));
	}
	struct dp_hist_entry *e = get(s, &k);
	if (!e && k.family) {
		s->other++;
		k.family = 0;
		memset(k.peer, 0, sizeof(k.peer));
		e = get(s, &k);
	}
	if (!e)
		return; /* out of memory */
	e->val.count++;
	e->val.sum_ns += ns;
	e->val.buckets[hist_kernel_bucket(ns)]++;
}

void graph_store_forget_pod(struct graph_store *s, uint32_t pod_id)
{
	size_t w = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].key.pod_id != pod_id)
			s->v[w++] = s->v[i];
	if (w == s->n)
		return;
	s->n = w;
	index_fill(&s->ix, s->n, pos_hash, s);
}

const struct dp_hist_entry *graph_store_entries(const struct graph_store *s, int *n)
{
	*n = s ? (int)s->n : 0;
	return s ? s->v : NULL;
}

uint64_t graph_store_other(const struct graph_store *s)
{
	return s ? s->other : 0;
}
