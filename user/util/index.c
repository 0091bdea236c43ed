// SPDX-License-Identifier: GPL-2.0
#include "index.h"

#include <stdlib.h>
#include <string.h>

#define INDEX_MIN_CAP 16

uint32_t *index_find(const struct index *ix, uint64_t h, index_eq_fn eq, const void *ctx, const void *key)
{
	if (!ix->cap)
		return NULL;
	size_t mask = ix->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t *s = &ix->slot[i];
		if (!*s || eq(ctx, *s - 1, key))
			return s;
	}
}

/* Positions are distinct, so placing one needs no comparison: the first empty slot. */
static void place(uint32_t *slot, size_t cap, uint64_t h, uint32_t pos)
{
	size_t mask = cap - 1, i = h & mask;
	while (slot[i])
		i = (i + 1) & mask;
	slot[i] = pos + 1;
}

static void fill(uint32_t *slot, size_t cap, size_t n, index_hash_fn hash, const void *ctx)
{
	memset(slot, 0, cap * sizeof(*slot));
	for (size_t pos = 0; pos < n; pos++)
		place(slot, cap, hash(ctx, (uint32_t)pos), (uint32_t)pos);
}

bool index_reserve(struct index *ix, size_t n, index_hash_fn hash, const void *ctx)
{
	if ((n + 1) * 2 <= ix->cap)
		return true;
	size_t cap = ix->cap ? ix->cap * 2 : INDEX_MIN_CAP;
	while ((n + 1) * 2 > cap)
		cap *= 2;
	uint32_t *slot = malloc(cap * sizeof(*slot));
	if (!slot)
		return false;
	fill(slot, cap, n, hash, ctx);
	free(ix->slot);
	ix->slot = slot;
	ix->cap = cap;
	return true;
}

void index_fill(struct index *ix, size_t n, index_hash_fn hash, const void *ctx)
{
	if (ix->cap)
		fill(ix->slot, ix->cap, n, hash, ctx);
}

void index_free(struct index *ix)
{
	free(ix->slot);
	ix->slot = NULL;
	ix->cap = 0;
}

uint32_t fnv1a32(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

uint64_t fnv1a64_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}
