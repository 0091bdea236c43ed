// SPDX-License-Identifier: GPL-2.0
#include "value_cap.h"

#include "util/array.h"
#include "util/index.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	uint32_t pod_id;
	uint8_t kind;
	char *v;
};

/* How many values (pod, kind) holds: kept beside the entries, few pods and kinds. */
struct count {
	uint32_t pod_id;
	uint8_t kind;
	unsigned n;
};

struct value_cap {
	unsigned max;
	struct entry *e;
	size_t n, cap;
	struct count *cnt;
	size_t ncnt, capcnt;
	struct index ix;
};

struct key {
	uint32_t pod_id;
	uint8_t kind;
	const char *v;
};

static uint64_t hash(uint32_t pod_id, uint8_t kind, const char *v)
{
	uint64_t h = fnv1a64(FNV1A64_INIT, &pod_id, sizeof(pod_id));
	return fnv1a64_str(fnv1a64(h, &kind, 1), v);
}

static uint64_t pos_hash(const void *ctx, uint32_t pos)
{
	const struct entry *x = &((const struct value_cap *)ctx)->e[pos];
	return hash(x->pod_id, x->kind, x->v);
}

static bool pos_eq(const void *ctx, uint32_t pos, const void *key)
{
	const struct entry *x = &((const struct value_cap *)ctx)->e[pos];
	const struct key *k = key;
	return x->pod_id == k->pod_id && x->kind == k->kind && !strcmp(x->v, k->v);
}

struct value_cap *value_cap_new(unsigned max)
{
	struct value_cap *c = calloc(1, sizeof(*c));
	if (c)
		c->max = max;
	return c;
}

void value_cap_free(struct value_cap *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].v);
	free(c->e);
	free(c->cnt);
	index_free(&c->ix);
	free(c);
}

static struct count *count_of(struct value_cap *c, uint32_t pod_id, uint8_t kind)
{
	for (size_t i = 0; i < c->ncnt; i++)
		if (c->cnt[i].pod_id == pod_id && c->cnt[i].kind == kind)
			return &c->cnt[i];
	if (!array_grow((void **)&c->cnt, &c->capcnt, c->ncnt + 1, sizeof(*c->cnt)))
		return NULL;
	c->cnt[c->ncnt] = (struct count){ pod_id, kind, 0 };
	return &c->cnt[c->ncnt++];
}

const char *value_cap_get(struct value_cap *c, uint32_t pod_id, uint8_t kind, const char *v)
{
	struct key k = { pod_id, kind, v };
	uint64_t h = hash(pod_id, kind, v);
	uint32_t *slot = index_find(&c->ix, h, pos_eq, c, &k);
	if (slot && *slot)
		return v;
	struct count *n = count_of(c, pod_id, kind);
	if (!n || n->n >= c->max)
		return "_OTHER";
	char *dup = strdup(v);
	if (!dup || !index_reserve(&c->ix, c->n, pos_hash, c) ||
	    !array_grow((void **)&c->e, &c->cap, c->n + 1, sizeof(*c->e))) {
		free(dup);
		return "_OTHER";
	}
	slot = index_find(&c->ix, h, pos_eq, c, &k);
	c->e[c->n] = (struct entry){ pod_id, kind, dup };
	*slot = (uint32_t)++c->n;
	n->n++;
	return v;
}

void value_cap_forget_pod(struct value_cap *c, uint32_t pod_id)
{
	size_t w = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (c->e[i].pod_id == pod_id)
			free(c->e[i].v);
		else
			c->e[w++] = c->e[i];
	}
	c->n = w;
	index_fill(&c->ix, c->n, pos_hash, c);
	w = 0;
	for (size_t i = 0; i < c->ncnt; i++)
		if (c->cnt[i].pod_id != pod_id)
			c->cnt[w++] = c->cnt[i];
	c->ncnt = w;
}

unsigned value_cap_size(const struct value_cap *c)
{
	return c ? (unsigned)c->n : 0;
}
