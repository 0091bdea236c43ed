// SPDX-License-Identifier: GPL-2.0
/* hostport_split: the forms --listen, --forward and OTLP authorities use, and what each flag lets
 * through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "util/hostport.h"

static char h[64], p[8];

static int split(const char *s, unsigned flags)
{
	return hostport_split(s, strlen(s), flags, h, sizeof(h), p, sizeof(p));
}

static void test_forms(void **state)
{
	(void)state;
	assert_int_equal(split("collector:24224", 0), 0);
	assert_string_equal(h, "collector");
	assert_string_equal(p, "24224");
	assert_int_equal(split("[fd00::1]:4317", 0), 0);
	assert_string_equal(h, "fd00::1");
	assert_string_equal(p, "4317");
	assert_int_equal(split("10.0.0.1:1", 0), 0);
	assert_int_equal(split("x:65535", 0), 0);
}

static void test_rejects(void **state)
{
	(void)state;
	const char *bad[] = { "",	    "host",	  "host:",    ":9102",	 "host:0",
			      "host:65536", "host:43x17", "host:+80", "[::1]",	 "[::1]9102",
			      "[]:80",	    "[::1:80",	  "::1:9102", "h:123456" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(split(bad[i], 0), -EINVAL);
	char tiny[4];
	assert_int_equal(hostport_split("longhost:80", 11, 0, tiny, sizeof(tiny), p, sizeof(p)), -EINVAL);
}

static void test_flags(void **state)
{
	(void)state;
	assert_int_equal(split("collector", HP_PORT_OPTIONAL), 0);
	assert_string_equal(h, "collector");
	assert_string_equal(p, "");
	assert_int_equal(split("[::1]", HP_PORT_OPTIONAL), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(split(":9102", HP_HOST_OPTIONAL), 0);
	assert_string_equal(h, "");
	assert_string_equal(p, "9102");
	assert_int_equal(split("::1:9102", HP_BARE_IPV6), 0);
	assert_string_equal(h, "::1");
	assert_string_equal(p, "9102");
	/* n bounds what is read: the authority of a URL */
	assert_int_equal(hostport_split("col:4318/v1/traces", 8, 0, h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "col");
	assert_string_equal(p, "4318");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
