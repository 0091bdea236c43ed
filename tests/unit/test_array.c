// SPDX-License-Identifier: GPL-2.0
/* array_grow: room for what is needed, capacity doubling, nothing moved when it fits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util/array.h"

static void test_grow(void **state)
{
	(void)state;
	int *v = NULL;
	size_t cap = 0;
	assert_true(array_grow((void **)&v, &cap, 1, sizeof(*v)));
	assert_non_null(v);
	assert_true(cap >= 1);
	size_t first = cap;
	int *before = v;
	assert_true(array_grow((void **)&v, &cap, first, sizeof(*v))); /* fits: untouched */
	assert_ptr_equal(v, before);
	assert_int_equal(cap, first);
	for (size_t i = 0; i < 1000; i++) {
		assert_true(array_grow((void **)&v, &cap, i + 1, sizeof(*v)));
		v[i] = (int)i;
	}
	assert_true(cap >= 1000 && cap < 2 * 1000 + first);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(v[i], (int)i); /* kept across reallocations */
	size_t c = cap;
	assert_true(array_grow((void **)&v, &cap, 5 * c + 1, sizeof(*v))); /* a big jump at once */
	assert_true(cap >= 5 * c + 1);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
