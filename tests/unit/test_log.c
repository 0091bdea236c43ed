// SPDX-License-Identifier: GPL-2.0
/* The levelled log: text lines as before, JSON one object per line, levels filter, libbpf's
 * multi-line messages split into events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static char *out_buf;
static size_t out_len;
static FILE *out;

static int setup(void **state)
{
	(void)state;
	out = open_memstream(&out_buf, &out_len);
	return out ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	fclose(out);
	free(out_buf);
	log_setup(LOG_INFO, LOG_OUT_TEXT, NULL);
	return 0;
}

static const char *written(void)
{
	fflush(out);
	return out_buf ? out_buf : "";
}

static void test_text(void **state)
{
	(void)state;
	log_setup(LOG_INFO, LOG_OUT_TEXT, out);
	log_info("agent", "attached to pod %s/%s\n", "shop", "web");
	log_warn("bpf", "pin the sockhash: %s", "EPERM");
	log_error("trace", "otlp: %d", 503);
	log_debug("bpf", "not shown at info");
	assert_string_equal(written(),
			    "obsbpf: attached to pod shop/web\n"
			    "obsbpf: warning: pin the sockhash: EPERM\n"
			    "obsbpf: otlp: 503\n");
}

static void test_levels(void **state)
{
	(void)state;
	log_setup(LOG_WARN, LOG_OUT_TEXT, out);
	assert_false(log_enabled(LOG_INFO));
	assert_true(log_enabled(LOG_ERROR));
	log_info("agent", "hidden");
	log_error("agent", "shown");
	assert_string_equal(written(), "obsbpf: shown\n");
	enum log_level l;
	enum log_output f;
	assert_int_equal(log_parse_level("debug", &l), 0);
	assert_int_equal(l, LOG_DEBUG);
	assert_int_equal(log_parse_level("verbose", &l), -1);
	assert_int_equal(log_parse_format("json", &f), 0);
	assert_int_equal(f, LOG_OUT_JSON);
	assert_int_equal(log_parse_format("logfmt", &f), -1);
}

static void test_json(void **state)
{
	(void)state;
	log_setup(LOG_DEBUG, LOG_OUT_JSON, out);
	log_warn("logs", "line with \"quotes\", a tab\t and \\ a backslash\n");
	log_debug("bpf", "second");
	const char *w = written();
	const char *nl = strchr(w, '\n');
	assert_non_null(nl);
	char *first = strndup(w, (size_t)(nl - w));
	json_object *o = json_tokener_parse(first);
	assert_non_null(o);
	json_object *v;
	assert_true(json_object_object_get_ex(o, "level", &v));
	assert_string_equal(json_object_get_string(v), "warn");
	assert_true(json_object_object_get_ex(o, "component", &v));
	assert_string_equal(json_object_get_string(v), "logs");
	assert_true(json_object_object_get_ex(o, "msg", &v));
	assert_string_equal(json_object_get_string(v), "line with \"quotes\", a tab\t and \\ a backslash");
	assert_true(json_object_object_get_ex(o, "time", &v));
	assert_int_equal(strlen(json_object_get_string(v)), strlen("2026-12-04T18:00:00.000Z"));
	json_object_put(o);
	free(first);
	assert_non_null(strstr(nl + 1, "\"msg\":\"second\""));
}

static int call_libbpf(enum libbpf_print_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = log_libbpf_print(lvl, fmt, ap);
	va_end(ap);
	return n;
}

static void test_libbpf(void **state)
{
	(void)state;
	log_setup(LOG_WARN, LOG_OUT_TEXT, out);
	call_libbpf(LIBBPF_WARN, "libbpf: prog '%s': failed\n-- BEGIN --\n0: r1 = 0\n", "x");
	call_libbpf(LIBBPF_DEBUG, "libbpf: hidden at warn\n");
	assert_string_equal(written(),
			    "obsbpf: warning: libbpf: prog 'x': failed\n"
			    "obsbpf: warning: -- BEGIN --\n"
			    "obsbpf: warning: 0: r1 = 0\n");
}

/* A verifier log is one call of far more than 8 KiB: its last line (the reason) comes out too. */
static void test_libbpf_long(void **state)
{
	(void)state;
	log_setup(LOG_WARN, LOG_OUT_TEXT, out);
	char *log = malloc(64 * 1024);
	assert_non_null(log);
	size_t n = 0;
	for (int i = 0; n < 60000; i++)
		n += (size_t)snprintf(log + n, 64 * 1024 - n, "%d: r%d = 0\n", i, i % 10);
	snprintf(log + n, 64 * 1024 - n, "processed 1000001 insns (limit 1000000)\n");
	call_libbpf(LIBBPF_WARN, "%s", log);
	const char *w = written();
	assert_non_null(strstr(w, "obsbpf: warning: 0: r0 = 0\n"));
	assert_non_null(strstr(w, "obsbpf: warning: processed 1000001 insns (limit 1000000)\n"));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_libbpf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_libbpf_long, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
