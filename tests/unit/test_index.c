// SPDX-License-Identifier: GPL-2.0
/* util/index: every key found at its position through growth and refills, collisions (a hash
 * that sends every key to one slot) resolved by comparison, an empty index finding nothing; and
 * FNV-1a against the published test vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/index.h"

struct keys {
	unsigned v[4096];
	size_t n;
	bool collide; /* every key hashes the same */
};

static uint64_t key_hash_of(const struct keys *k, unsigned v)
{
	return k->collide ? 7 : fnv1a64(FNV1A64_INIT, &v, sizeof(v));
}

static uint64_t hash(const void *ctx, uint32_t pos)
{
	const struct keys *k = ctx;
	return key_hash_of(k, k->v[pos]);
}

static bool eq(const void *ctx, uint32_t pos, const void *key)
{
	return ((const struct keys *)ctx)->v[pos] == *(const unsigned *)key;
}

/* Adds v unless present; its position either way. */
static uint32_t add(struct index *ix, struct keys *k, unsigned v)
{
	assert_true(index_reserve(ix, k->n, hash, k));
	uint32_t *s = index_find(ix, key_hash_of(k, v), eq, k, &v);
	assert_non_null(s);
	if (!*s) {
		k->v[k->n] = v;
		*s = (uint32_t)++k->n;
	}
	return *s - 1;
}

static uint32_t pos_of(const struct index *ix, const struct keys *k, unsigned v)
{
	uint32_t *s = index_find(ix, key_hash_of(k, v), eq, k, &v);
	return s && *s ? *s - 1 : UINT32_MAX;
}

static void run(bool collide, size_t n)
{
	struct index ix = { 0 };
	struct keys *k = calloc(1, sizeof(*k));
	k->collide = collide;
	assert_null(index_find(&ix, 1, eq, k, &(unsigned){ 1 })); /* no slots yet */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(add(&ix, k, (unsigned)i * 2654435761u), i);
	assert_true(ix.cap >= 2 * n); /* at most half full */
	assert_int_equal(ix.cap & (ix.cap - 1), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(add(&ix, k, (unsigned)i * 2654435761u), i); /* no duplicate */
		assert_int_equal(pos_of(&ix, k, (unsigned)i * 2654435761u), i);
	}
	assert_int_equal(k->n, n);
	assert_int_equal(pos_of(&ix, k, 1), UINT32_MAX); /* odd: never added */
	/* Keep every other key, packed to the front, and refill at the same size. */
	size_t cap = ix.cap, m = 0;
	for (size_t i = 0; i < n; i += 2)
		k->v[m++] = k->v[i];
	k->n = m;
	index_fill(&ix, m, hash, k);
	assert_int_equal(ix.cap, cap);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pos_of(&ix, k, (unsigned)i * 2654435761u), i % 2 ? UINT32_MAX : i / 2);
	index_free(&ix);
	assert_null(ix.slot);
	assert_int_equal(ix.cap, 0);
	index_free(&ix); /* twice is harmless */
	free(k);
}

static void test_spread(void **state)
{
	(void)state;
	run(false, 4096);
	run(false, 1);
}

static void test_collisions(void **state)
{
	(void)state;
	run(true, 300);
}

static void test_reserve_fits(void **state)
{
	(void)state;
	struct keys k = { .n = 0 };
	struct index ix = { 0 };
	assert_true(index_reserve(&ix, 0, hash, &k));
	uint32_t *slot = ix.slot;
	size_t cap = ix.cap;
	assert_true(cap >= 2);
	assert_true(index_reserve(&ix, cap / 2 - 1, hash, &k)); /* still fits: nothing moves */
	assert_ptr_equal(ix.slot, slot);
	index_free(&ix);
}

static void test_fnv_vectors(void **state)
{
	(void)state;
	assert_true(fnv1a64(FNV1A64_INIT, "", 0) == 0xcbf29ce484222325ull);
	assert_true(fnv1a64(FNV1A64_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(fnv1a64(FNV1A64_INIT, "foobar", 6) == 0x85944171f73967e8ull);
	assert_true(fnv1a64_str(FNV1A64_INIT, "foobar") == 0x85944171f73967e8ull);
	assert_true(fnv1a32(FNV1A32_INIT, "", 0) == 0x811c9dc5u);
	assert_true(fnv1a32(FNV1A32_INIT, "a", 1) == 0xe40c292cu);
	assert_true(fnv1a32(FNV1A32_INIT, "foobar", 6) == 0xbf9cf968u);
	/* Continuing from a hash is hashing the concatenation. */
	assert_true(fnv1a64(fnv1a64(FNV1A64_INIT, "foo", 3), "bar", 3) == 0x85944171f73967e8ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_reserve_fits),
		cmocka_unit_test(test_fnv_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
