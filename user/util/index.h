/* SPDX-License-Identifier: GPL-2.0 */
/* An open-addressing hash index over a dense array the caller keeps (entries 0 .. n-1): the
 * index holds positions, the caller's callbacks hash and compare the entries. One for the
 * exposition parser's families and series and for the exemplar store. Plus FNV-1a, the hash
 * they feed it. */
#ifndef OBSBPF_UTIL_INDEX_H
#define OBSBPF_UTIL_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct index {
	uint32_t *slot; /* position + 1; 0 = empty */
	size_t cap;	/* a power of two; 0 before the first index_reserve */
};

/* Whether the entry at pos is the one key names. */
typedef bool (*index_eq_fn)(const void *ctx, uint32_t pos, const void *key);
/* The hash of the entry at pos: the one index_find was given for it. */
typedef uint64_t (*index_hash_fn)(const void *ctx, uint32_t pos);

/* The slot holding the position of key (hash h), or the empty slot where it goes: the caller
 * adds an entry at pos by writing pos + 1 there. NULL only while the index has no slots. */
uint32_t *index_find(const struct index *ix, uint64_t h, index_eq_fn eq, const void *ctx, const void *key);

/* Room for one entry more than the n held: the index is kept at most half full, so a probe
 * always ends at an empty slot. Grows it (doubling) when needed, which moves the slots: find
 * the slot after this. false on out of memory, with the index unchanged. */
bool index_reserve(struct index *ix, size_t n, index_hash_fn hash, const void *ctx);

/* Indexes positions 0 .. n-1 anew, at the same size: after the array's entries moved (n no
 * more than the index held before). */
void index_fill(struct index *ix, size_t n, index_hash_fn hash, const void *ctx);

void index_free(struct index *ix);

#define FNV1A32_INIT 2166136261u
#define FNV1A64_INIT 14695981039346656037ull

/* FNV-1a of n bytes, continuing from h (FNV1A*_INIT to start). */
uint32_t fnv1a32(uint32_t h, const void *p, size_t n);
uint64_t fnv1a64(uint64_t h, const void *p, size_t n);
/* Of a string's bytes, NUL excluded. */
uint64_t fnv1a64_str(uint64_t h, const char *s);

#endif
