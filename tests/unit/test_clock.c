// SPDX-License-Identifier: GPL-2.0
/* The monotonic -> wall clock offset, and its cache keyed by the events' own times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "util/clock.h"

static void test_offset_now(void **state)
{
	(void)state;
	struct timespec m, r;
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	int64_t want = ((int64_t)r.tv_sec - m.tv_sec) * 1000000000ll + (r.tv_nsec - m.tv_nsec);
	int64_t got = clock_mono_to_unix_ns();
	assert_true(got - want < 1000000 && want - got < 1000000); /* within 1 ms */
}

static void test_offset_cached(void **state)
{
	(void)state;
	/* A stale offset (as after a wall clock step) is kept while events stay within a second
	 * of the read, and read again past it, or for an event from before it. */
	struct clock_offset c = { .off_ns = 42, .at_ns = 5000000000ull, .set = true };
	assert_int_equal(clock_offset_at(&c, 5000000000ull), 42);
	assert_int_equal(clock_offset_at(&c, 5999999999ull), 42);
	int64_t real = clock_mono_to_unix_ns();
	int64_t got = clock_offset_at(&c, 6000000001ull);
	assert_true(got - real < 1000000 && real - got < 1000000);
	assert_int_equal(c.at_ns, 6000000001ull);
	c.off_ns = 7;
	assert_int_equal(clock_offset_at(&c, 6500000000ull), 7);
	assert_int_not_equal(clock_offset_at(&c, 1000), 7);
	assert_int_equal(c.at_ns, 1000);
	struct clock_offset fresh = { 0 };
	assert_int_not_equal(clock_offset_at(&fresh, 1), 0);
	assert_true(fresh.set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offset_now),
		cmocka_unit_test(test_offset_cached),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
