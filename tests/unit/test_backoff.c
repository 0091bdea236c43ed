// SPDX-License-Identifier: GPL-2.0
/* backoff_ms: doubling from the base, the cap, jitter within 50..100% of the step, never 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/backoff.h"

static void test_steps(void **state)
{
	(void)state;
	/* rnd 0: the low end, half the step */
	assert_int_equal(backoff_ms(1, 1000, 30000, 0), 500);
	assert_int_equal(backoff_ms(2, 1000, 30000, 0), 1000);
	assert_int_equal(backoff_ms(3, 1000, 30000, 0), 2000);
	assert_int_equal(backoff_ms(6, 1000, 30000, 0), 15000);	  /* 32000 capped to 30000 */
	assert_int_equal(backoff_ms(200, 1000, 30000, 0), 15000); /* shifted far past: the cap */
	/* rnd near 1: nearly the whole step */
	assert_true(backoff_ms(3, 1000, 30000, 0.999999) >= 3999);
	assert_true(backoff_ms(3, 1000, 30000, 0.999999) <= 4000);
	/* attempt 0 is treated as the first */
	assert_int_equal(backoff_ms(0, 1000, 30000, 0), 500);
}

static void test_edges(void **state)
{
	(void)state;
	assert_int_equal(backoff_ms(1, 1, 1, 0), 1); /* never 0 */
	assert_int_equal(backoff_ms(1, 0, 0, 0), 1);
	assert_int_equal(backoff_ms(1, 1000, 10, 0), 500);	/* a cap below the base: the base */
	assert_int_equal(backoff_ms(2, 1000, 30000, -1), 1000); /* rnd outside [0,1): 0 */
	assert_int_equal(backoff_ms(2, 1000, 30000, 1.0), 1000);
}

static void test_jitter_spread(void **state)
{
	(void)state;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < 2000; i++) {
		double r = backoff_rnd();
		assert_true(r >= 0 && r < 1);
		uint64_t d = backoff_ms(4, 1000, 30000, r);
		assert_true(d >= 4000 && d <= 8000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(hi - lo > 2000); /* spread over the range, not one value */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_jitter_spread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
