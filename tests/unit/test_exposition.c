// SPDX-License-Identifier: GPL-2.0
/* /metrics content negotiation (Accept) and the metadata lines shared by every collector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http/server.h"
#include "util/strbuf.h"

#define OM   EXPO_OPENMETRICS
#define PROM EXPO_PROMETHEUS

static void test_accept_scrapers(void **state)
{
	(void)state;
	/* Prometheus 2.x, as it sends it */
	assert_int_equal(http_accept_format("application/openmetrics-text;version=1.0.0,"
					    "application/openmetrics-text;version=0.0.1;q=0.75,"
					    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
			 OM);
	/* Prometheus with OpenMetrics turned off, and older clients */
	assert_int_equal(http_accept_format("text/plain;version=0.0.4;q=1,*/*;q=0.1"), PROM);
	assert_int_equal(
		http_accept_format("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
				   "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1"),
		PROM);
	/* curl, browsers, nothing at all */
	assert_int_equal(http_accept_format("*/*"), PROM);
	assert_int_equal(http_accept_format(NULL), PROM);
	assert_int_equal(http_accept_format(""), PROM);
	assert_int_equal(
		http_accept_format("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), PROM);
}

static void test_accept_q_values(void **state)
{
	(void)state;
	/* weights decide, whatever the order */
	assert_int_equal(
		http_accept_format(
			"text/plain;version=0.0.4;q=0.5, application/openmetrics-text; version=1.0.0"),
		OM);
	assert_int_equal(
		http_accept_format("application/openmetrics-text;version=1.0.0;q=0.2,text/plain;q=0.9"),
		PROM);
	/* q=0 means "not acceptable" */
	assert_int_equal(http_accept_format("application/openmetrics-text;q=0,*/*"), PROM);
	assert_int_equal(http_accept_format("application/openmetrics-text;version=1.0.0, text/plain;q=0"),
			 OM);
	/* the most specific range sets the weight: OpenMetrics excluded despite "application/ *" */
	assert_int_equal(
		http_accept_format("application/*;q=1,application/openmetrics-text;q=0,text/plain;q=0.1"),
		PROM);
	assert_int_equal(http_accept_format("application/*,text/plain;q=0.5"), OM);
	/* only version 1.0.0 is served as OpenMetrics */
	assert_int_equal(http_accept_format("application/openmetrics-text;version=0.0.1"), PROM);
	assert_int_equal(http_accept_format("application/openmetrics-text;version=\"1.0.0\""), OM);
	assert_int_equal(http_accept_format("application/openmetrics-text"), OM);
	/* equal weight: the more precise range, then the first listed */
	assert_int_equal(http_accept_format("application/openmetrics-text;version=1.0.0,text/plain"), OM);
	assert_int_equal(
		http_accept_format("text/plain;version=0.0.4,application/openmetrics-text;version=1.0.0"),
		PROM);
	assert_int_equal(
		http_accept_format("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4"),
		OM);
	/* case-insensitive names, spaces, charset parameter, accept-ext after q */
	assert_int_equal(
		http_accept_format(
			" Application/OpenMetrics-Text ; Version=1.0.0 ; charset=utf-8 ; q=0.9 ; foo=bar ,"
			" text/plain ; q=0.5"),
		OM);
}

static void test_accept_malformed(void **state)
{
	(void)state;
	/* malformed ranges are skipped, the rest still counts */
	assert_int_equal(http_accept_format("application/openmetrics-text;q=2,text/plain;q=0.5"), PROM);
	assert_int_equal(http_accept_format("application/openmetrics-text;q=abc"), PROM);
	assert_int_equal(
		http_accept_format(
			"garbage,;;,,/,application/openmetrics-text;version=1.0.0;q=0.6,text/plain;q=0.5"),
		OM);
	/* a comma inside a quoted value does not split the range */
	assert_int_equal(
		http_accept_format(
			"text/plain;x=\"a,application/openmetrics-text\";q=0.9,application/openmetrics-text;q=0.1"),
		PROM);
	assert_int_equal(http_accept_format("application/openmetrics-text;version=\"1.0.0"), OM);
}

static void test_family_metadata(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	http_expo_family(&sb, PROM, "obsbpf_logs_read_bytes_total", "counter", "Bytes \"read\" \\ here.");
	assert_string_equal(sb.buf,
			    "# HELP obsbpf_logs_read_bytes_total Bytes \"read\" \\\\ here.\n"
			    "# TYPE obsbpf_logs_read_bytes_total counter\n");
	sb_reset(&sb);
	http_expo_family(&sb, OM, "obsbpf_logs_read_bytes_total", "counter", "Bytes \"read\" \\ here.\nx");
	assert_string_equal(sb.buf,
			    "# HELP obsbpf_logs_read_bytes Bytes \\\"read\\\" \\\\ here.\\nx\n"
			    "# TYPE obsbpf_logs_read_bytes counter\n"
			    "# UNIT obsbpf_logs_read_bytes bytes\n");
	sb_reset(&sb);
	http_expo_family(&sb, OM, "http_server_request_duration_seconds", "histogram", "h");
	assert_string_equal(sb.buf,
			    "# HELP http_server_request_duration_seconds h\n"
			    "# TYPE http_server_request_duration_seconds histogram\n"
			    "# UNIT http_server_request_duration_seconds seconds\n");
	sb_reset(&sb);
	/* no unit where the name has none; a gauge keeps its _total */
	http_expo_family(&sb, OM, "obsbpf_routes_total", "gauge", "g");
	assert_string_equal(sb.buf, "# HELP obsbpf_routes_total g\n# TYPE obsbpf_routes_total gauge\n");
	sb_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_scrapers),
		cmocka_unit_test(test_accept_q_values),
		cmocka_unit_test(test_accept_malformed),
		cmocka_unit_test(test_family_metadata),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
