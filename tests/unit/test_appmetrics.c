// SPDX-License-Identifier: GPL-2.0
/* Exposition parser and renderer: what an app may serve, and what we must never re-expose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "appmetrics/expo.h"
#include "appmetrics/rules.h"
#include "util/strbuf.h"

static const char *const pod_names[] = { "k8s_pod_name", "k8s_namespace_name" };
static const char *const pod_values[] = { "web-1", "shop" };
static const struct expo_label_set pod = { pod_names, pod_values, 2 };

/* Parses text and renders it; returns the parse result, rendering into out on success. */
static int roundtrip(const char *text, bool om_in, enum exposition_format f, const struct expo_label_set *add,
		     struct strbuf *out, struct expo_stats *st)
{
	struct expo_doc *d;
	struct strbuf err;
	sb_init(&err);
	struct expo_parse_opts o = { .openmetrics = om_in };
	int r = expo_parse(&d, text, strlen(text), &o, &err);
	sb_free(&err);
	if (r < 0)
		return r;
	expo_render(d, add, f, false, out);
	if (st)
		*st = *expo_doc_stats(d);
	expo_doc_free(d);
	return 0;
}

static void test_prometheus_text(void **state)
{
	(void)state;
	const char *in = "# HELP req_total Requests served.\n"
			 "# TYPE req_total counter\n"
			 "req_total{method=\"GET\",code=\"200\"} 1027 1395066363000\n"
			 "req_total{method=\"POST\",code=\"400\"}    3\n"
			 "\n"
			 "# A plain comment\n"
			 "# TYPE lat histogram\n"
			 "lat_bucket{le=\"0.1\"} 1\n"
			 "lat_bucket{le=\"+Inf\"} 2\n"
			 "lat_sum 0.3\n"
			 "lat_count 2\n"
			 "# TYPE rpc summary\n"
			 "rpc{quantile=\"0.5\"} 4.5e-3\n"
			 "rpc_sum 1.5\n"
			 "rpc_count 3\n"
			 "temp -Inf\n"
			 "nan_value NaN\n";
	const char *want =
		"# HELP req_total Requests served.\n"
		"# TYPE req_total counter\n"
		"req_total{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\",method=\"GET\",code=\"200\"} 1027 1395066363000\n"
		"req_total{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\",method=\"POST\",code=\"400\"} 3\n"
		"# TYPE lat histogram\n"
		"lat_bucket{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\",le=\"0.1\"} 1\n"
		"lat_bucket{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\",le=\"+Inf\"} 2\n"
		"lat_sum{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\"} 0.3\n"
		"lat_count{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\"} 2\n"
		"# TYPE rpc summary\n"
		"rpc{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\",quantile=\"0.5\"} 4.5e-3\n"
		"rpc_sum{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\"} 1.5\n"
		"rpc_count{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\"} 3\n"
		"temp{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\"} -Inf\n"
		"nan_value{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\"} NaN\n";
	struct strbuf out;
	struct expo_stats st;
	sb_init(&out);
	assert_int_equal(roundtrip(in, false, EXPO_PROMETHEUS, &pod, &out, &st), 0);
	assert_string_equal(out.buf, want);
	assert_int_equal(st.families, 5);
	assert_int_equal(st.series, 11);
	sb_free(&out);
}

static void test_escaping(void **state)
{
	(void)state;
	const char *in = "# HELP esc A \\\\ backslash,\\na newline and \"quotes\".\n"
			 "esc{path=\"C:\\\\dir\",msg=\"say \\\"hi\\\"\\nbye\",utf=\"h\xc3\xa9\"} 1\n";
	struct strbuf out;
	sb_init(&out);
	const char *v[] = { "a\"b\\c\nd" };
	const char *n[] = { "k8s_pod_name" };
	struct expo_label_set add = { n, v, 1 };
	assert_int_equal(roundtrip(in, false, EXPO_PROMETHEUS, &add, &out, NULL), 0);
	assert_string_equal(
		out.buf,
		"# HELP esc A \\\\ backslash,\\na newline and \"quotes\".\n"
		"esc{k8s_pod_name=\"a\\\"b\\\\c\\nd\",path=\"C:\\\\dir\",msg=\"say \\\"hi\\\"\\nbye\",utf=\"h\xc3\xa9\"} 1\n");
	sb_reset(&out);
	/* OpenMetrics escapes quotes in HELP too. */
	assert_int_equal(roundtrip(in, false, EXPO_OPENMETRICS, NULL, &out, NULL), 0);
	assert_non_null(strstr(out.buf, "and \\\"quotes\\\"."));
	sb_free(&out);
}

static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"foo{a=\"b\" 1\n",	    /* unclosed label set */
		"foo{a=\"b\\x\"} 1\n",	    /* unknown escape */
		"foo{a=\"b} 1\n",	    /* unterminated value */
		"foo{a=b} 1\n",		    /* unquoted value */
		"foo{=\"b\"} 1\n",	    /* no label name */
		"foo{1a=\"b\"} 1\n",	    /* bad label name */
		"foo{a=\"1\",a=\"2\"} 1\n", /* duplicate label */
		"foo{__name__=\"x\"} 1\n",  /* reserved label name */
		"foo{a=\"\xff\"} 1\n",	    /* not UTF-8 */
		"{a=\"b\"} 1\n",	    /* no metric name */
		"9foo 1\n",		    /* bad metric name */
		"foo-bar 1\n",
		"foo\n", /* no value */
		"foo{a=\"b\"}\n",
		"foo abc\n",	      /* bad value */
		"foo 0x10\n",	      /* hex is not the format's */
		"foo 1 12.5\n",	      /* timestamps are integers in 0.0.4 */
		"foo 1 2 3\n",	      /* trailing text */
		"# TYPE foo bogus\n", /* unknown type */
		"# TYPE foo\n",
		"# TYPE foo counter extra\n",
		"# HELP 1foo help\n",
		"# HELP foo caf\xe9\n", /* HELP not UTF-8 */
		"ok 1\nbad{\n",		/* one bad line rejects the whole scrape */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct expo_doc *d = (void *)1;
		struct strbuf err;
		sb_init(&err);
		int r = expo_parse(&d, bad[i], strlen(bad[i]), NULL, &err);
		if (r != -EINVAL)
			fail_msg("accepted malformed input #%zu: %s", i, bad[i]);
		assert_null(d);
		assert_non_null(err.buf);
		assert_non_null(strstr(err.buf, "line "));
		sb_free(&err);
	}
	/* A NUL byte anywhere. */
	struct expo_doc *d;
	assert_int_equal(expo_parse(&d, "foo 1\n\0bar 2\n", 13, NULL, NULL), -EINVAL);
}

static void test_openmetrics(void **state)
{
	(void)state;
	const char *in = "# HELP jobs Jobs run.\n"
			 "# TYPE jobs counter\n"
			 "# UNIT jobs jobs\n"
			 "jobs_total{kind=\"a\"} 3 1700000000.250 # {trace_id=\"abc\"} 1 1700000000.1\n"
			 "jobs_created{kind=\"a\"} 1699999999\n"
			 "# TYPE build info\n"
			 "build_info{version=\"1.2\"} 1\n"
			 "# TYPE q gaugehistogram\n"
			 "q_bucket{le=\"+Inf\"} 2\n"
			 "q_gcount 2\n"
			 "q_gsum 5\n"
			 "# TYPE mode stateset\n"
			 "mode{mode=\"on\"} 1\n"
			 "# TYPE lat histogram\n"
			 "lat_bucket{le=\"+Inf\"} 1 # {span_id=\"x\"} 0.2\n"
			 "lat_count 1\n"
			 "lat_sum 0.2\n"
			 "lat_created 1699999999\n"
			 "# EOF\n";
	struct strbuf out;
	struct expo_stats st;
	sb_init(&out);
	assert_int_equal(roundtrip(in, true, EXPO_PROMETHEUS, NULL, &out, &st), 0);
	assert_string_equal(out.buf,
			    "# HELP jobs_total Jobs run.\n"
			    "# TYPE jobs_total counter\n"
			    "jobs_total{kind=\"a\"} 3 1700000000250\n"
			    "# TYPE build_info gauge\n"
			    "build_info{version=\"1.2\"} 1\n"
			    "# TYPE mode gauge\n"
			    "mode{mode=\"on\"} 1\n"
			    "# TYPE lat histogram\n"
			    "lat_bucket{le=\"+Inf\"} 1\n"
			    "lat_count 1\n"
			    "lat_sum 0.2\n");
	assert_int_equal(st.dropped, 5); /* jobs_created, 3 gaugehistogram samples, lat_created */

	/* Back to OpenMetrics: counter family without _total, samples with it; seconds. */
	sb_reset(&out);
	assert_int_equal(roundtrip(in, true, EXPO_OPENMETRICS, NULL, &out, NULL), 0);
	assert_non_null(strstr(out.buf, "# TYPE jobs counter\njobs_total{kind=\"a\"} 3 1700000000.250\n"));

	/* A Prometheus counter without _total gains it in OpenMetrics. */
	sb_reset(&out);
	assert_int_equal(
		roundtrip("# TYPE hits counter\nhits 4\nx 1\n", false, EXPO_OPENMETRICS, NULL, &out, NULL),
		0);
	assert_string_equal(out.buf, "# TYPE hits counter\nhits_total 4\nx 1\n");
	sb_free(&out);

	struct expo_doc *d;
	struct expo_parse_opts om = { .openmetrics = true };
	const char *trunc = "# TYPE a gauge\na 1\n";
	assert_int_equal(expo_parse(&d, trunc, strlen(trunc), &om, NULL), -EINVAL);
	const char *after = "a 1\n# EOF\nb 2\n";
	assert_int_equal(expo_parse(&d, after, strlen(after), &om, NULL), -EINVAL);
	/* In 0.0.4 text, "# EOF" is a comment and CRLF line ends are tolerated. */
	const char *crlf = "a 1\r\n# EOF\r\n";
	assert_int_equal(expo_parse(&d, crlf, strlen(crlf), NULL, NULL), 0);
	expo_doc_free(d);
}

static void test_duplicates(void **state)
{
	(void)state;
	const char *in = "# HELP a First help.\n"
			 "# TYPE a gauge\n"
			 "a{x=\"1\"} 1\n"
			 "# HELP a Second help.\n"
			 "# TYPE a counter\n"
			 "b 2\n"
			 "a{x=\"2\"} 3\n" /* a again, after b: merged into a's block */
			 "a{x=\"1\"} 9\n" /* same series twice: the first is kept */
			 "c 1\n"
			 "# TYPE c gauge\n"; /* TYPE after samples: ignored */
	struct strbuf out;
	struct expo_stats st;
	sb_init(&out);
	assert_int_equal(roundtrip(in, false, EXPO_PROMETHEUS, NULL, &out, &st), 0);
	assert_string_equal(out.buf,
			    "# HELP a First help.\n"
			    "# TYPE a gauge\n"
			    "a{x=\"1\"} 1\n"
			    "a{x=\"2\"} 3\n"
			    "b 2\n"
			    "c 1\n");
	assert_int_equal(st.dup_meta, 3);
	assert_int_equal(st.dup_series, 1);
	sb_free(&out);
}

static bool reserved(const char *n)
{
	return !strncmp(n, "obsbpf_", 7) || !strcmp(n, "http_server_request_duration_seconds") ||
		!strcmp(n, "http_server_request_duration_seconds_count");
}

static void test_reserved_names(void **state)
{
	(void)state;
	const char *in = "# TYPE http_server_request_duration_seconds histogram\n"
			 "http_server_request_duration_seconds_count 1\n"
			 "http_server_request_duration_seconds_sum 1\n"
			 "obsbpf_up 1\n"
			 "app_obsbpf_up 7\n"
			 "mine 2\n";
	struct expo_doc *d;
	assert_int_equal(expo_parse(&d, in, strlen(in), NULL, NULL), 0);
	expo_doc_reserve(d, reserved, "app_");
	struct strbuf out;
	sb_init(&out);
	expo_render(d, NULL, EXPO_PROMETHEUS, false, &out);
	assert_string_equal(out.buf,
			    "# TYPE app_http_server_request_duration_seconds histogram\n"
			    "app_http_server_request_duration_seconds_count 1\n"
			    "app_http_server_request_duration_seconds_sum 1\n"
			    "app_obsbpf_up 7\n"
			    "mine 2\n");
	assert_int_equal(expo_doc_stats(d)->renamed, 1);
	assert_int_equal(expo_doc_stats(d)->clashed, 1);
	assert_int_equal(expo_doc_stats(d)->series, 4);
	sb_free(&out);
	expo_doc_free(d);
}

static void test_label_clash_and_timestamps(void **state)
{
	(void)state;
	const char *in = "a{k8s_pod_name=\"inner\",z=\"1\"} 1 1000\n"
			 "b{k8s_pod_name=\"inner\",exported_k8s_pod_name=\"x\"} 2\n";
	struct expo_doc *d;
	assert_int_equal(expo_parse(&d, in, strlen(in), NULL, NULL), 0);
	struct strbuf out;
	sb_init(&out);
	expo_render(d, &pod, EXPO_PROMETHEUS, true, &out);
	assert_string_equal(
		out.buf,
		"a{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\",exported_k8s_pod_name=\"inner\",z=\"1\"} 1\n"
		"b{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\",exported_k8s_pod_name=\"x\"} 2\n");
	sb_free(&out);
	expo_doc_free(d);
}

static void test_limits(void **state)
{
	(void)state;
	struct strbuf in;
	sb_init(&in);
	for (int i = 0; i < 100; i++)
		sb_printf(&in, "s{i=\"%d\"} %d\n", i, i);
	struct expo_doc *d;
	struct expo_parse_opts o = { .max_series = 50 };
	assert_int_equal(expo_parse(&d, in.buf, in.len, &o, NULL), -E2BIG);
	o.max_series = 100;
	assert_int_equal(expo_parse(&d, in.buf, in.len, &o, NULL), 0);
	assert_int_equal(expo_doc_stats(d)->series, 100);
	expo_doc_free(d);
	/* Label values: the limit is on the unescaped value; a longer one fails the scrape. */
	struct expo_parse_opts lo = { .max_label_bytes = 4 };
	const char *ok4 = "a{v=\"ab\\\\\\\\\"} 1\n"; /* 6 escaped bytes, 4 unescaped (ab\\) */
	assert_int_equal(expo_parse(&d, ok4, strlen(ok4), &lo, NULL), 0);
	expo_doc_free(d);
	struct strbuf err;
	sb_init(&err);
	const char *long5 = "a{v=\"ab\"} 1\nb{v=\"abcde\"} 1\n";
	assert_int_equal(expo_parse(&d, long5, strlen(long5), &lo, &err), -EMSGSIZE);
	assert_null(d);
	assert_string_equal(err.buf, "line 2: label value too long");
	sb_free(&err);
	const char *names[] = { "abcde 1\n", "a{abcde=\"x\"} 1\n", "abcd{abcd=\"abcd\"} 1\n" };
	assert_int_equal(expo_parse(&d, names[0], strlen(names[0]), &lo, NULL), -EMSGSIZE);
	assert_int_equal(expo_parse(&d, names[1], strlen(names[1]), &lo, NULL), -EMSGSIZE);
	assert_int_equal(expo_parse(&d, names[2], strlen(names[2]), &lo, NULL), 0);
	expo_doc_free(d);
	/* Empty body: a valid scrape with nothing in it. */
	assert_int_equal(expo_parse(&d, "", 0, NULL, NULL), 0);
	assert_int_equal(expo_doc_stats(d)->series, 0);
	expo_doc_free(d);
	sb_free(&in);
}

/* Mutated inputs (a fixed-seed PRNG, so failures reproduce): the parser must never crash, and
 * whatever it accepts must render to text that parses again to the same number of series. */
static void test_mutations(void **state)
{
	(void)state;
	static const char seed[] =
		"# HELP a_total A \\ counter.\n\n# TYPE a_total counter\n"
		"a_total{x=\"1\",y=\"q\\\"z\"} 1 1000\n"
		"# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5\nh_count 2\n"
		"g{a=\"b\",} -1e-3\nu NaN # {t=\"1\"} 2\n";
	static const char alphabet[] = "{}\",=\\# \n_aZ09.+-eI";
	uint32_t rng = 12345;
	char buf[sizeof(seed) + 8];
	int accepted = 0;
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(buf, seed, sizeof(seed));
		size_t len = sizeof(seed) - 1;
		int edits = 1 + iter % 4;
		for (int e = 0; e < edits; e++) {
			rng = rng * 1103515245u + 12345u;
			size_t at = (rng >> 8) % len;
			rng = rng * 1103515245u + 12345u;
			char c = (rng >> 16) & 1 ? alphabet[(rng >> 8) % (sizeof(alphabet) - 1)]
						 : (char)(rng >> 8);
			if (c == '\0')
				c = '"';
			buf[at] = c;
		}
		struct expo_doc *d;
		if (expo_parse(&d, buf, len, NULL, NULL) < 0)
			continue;
		accepted++;
		struct strbuf out;
		sb_init(&out);
		expo_render(d, &pod, EXPO_PROMETHEUS, false, &out);
		struct expo_doc *again;
		struct strbuf err;
		sb_init(&err);
		int r = expo_parse(&again, out.buf ? out.buf : "", out.len, NULL, &err);
		if (r < 0)
			fail_msg("rendered text does not parse (%s):\n%s\nfrom input:\n%.*s", err.buf,
				 out.buf, (int)len, buf);
		assert_int_equal(expo_doc_stats(again)->series, expo_doc_stats(d)->series);
		expo_doc_free(again);
		expo_doc_free(d);
		sb_free(&err);
		sb_free(&out);
	}
	print_message("mutations: %d of 20000 accepted\n", accepted);
	/* Both outcomes must occur, or the test exercises nothing. */
	assert_true(accepted > 100);
	assert_true(accepted < 19000);
}

/* OpenMetrics keeps a series' samples together: a histogram written bucket-by-bucket across
 * series (valid 0.0.4 text) is regrouped per series, labels in any order. */
static void test_openmetrics_grouping(void **state)
{
	(void)state;
	const char *in = "# HELP h Latency.\n# TYPE h histogram\n"
			 "h_bucket{a=\"1\",b=\"x\",le=\"1\"} 1\n"
			 "h_bucket{a=\"2\",b=\"x\",le=\"1\"} 2\n"
			 "h_bucket{b=\"x\",a=\"1\",le=\"+Inf\"} 3\n"
			 "h_bucket{a=\"2\",b=\"x\",le=\"+Inf\"} 4\n"
			 "h_sum{a=\"1\",b=\"x\"} 0.5\nh_sum{a=\"2\",b=\"x\"} 0.7\n"
			 "h_count{a=\"1\",b=\"x\"} 3\nh_count{a=\"2\",b=\"x\"} 4\n"
			 "# TYPE s summary\n"
			 "s{k=\"1\",quantile=\"0.5\"} 1\ns{k=\"2\",quantile=\"0.5\"} 2\n"
			 "s_sum{k=\"1\"} 1\ns_sum{k=\"2\"} 2\ns_count{k=\"1\"} 1\ns_count{k=\"2\"} 2\n";
	struct strbuf out;
	sb_init(&out);
	assert_int_equal(roundtrip(in, false, EXPO_OPENMETRICS, NULL, &out, NULL), 0);
	assert_string_equal(out.buf,
			    "# HELP h Latency.\n# TYPE h histogram\n"
			    "h_bucket{a=\"1\",b=\"x\",le=\"1\"} 1\n"
			    "h_bucket{b=\"x\",a=\"1\",le=\"+Inf\"} 3\n"
			    "h_sum{a=\"1\",b=\"x\"} 0.5\nh_count{a=\"1\",b=\"x\"} 3\n"
			    "h_bucket{a=\"2\",b=\"x\",le=\"1\"} 2\n"
			    "h_bucket{a=\"2\",b=\"x\",le=\"+Inf\"} 4\n"
			    "h_sum{a=\"2\",b=\"x\"} 0.7\nh_count{a=\"2\",b=\"x\"} 4\n"
			    "# TYPE s summary\n"
			    "s{k=\"1\",quantile=\"0.5\"} 1\ns_sum{k=\"1\"} 1\ns_count{k=\"1\"} 1\n"
			    "s{k=\"2\",quantile=\"0.5\"} 2\ns_sum{k=\"2\"} 2\ns_count{k=\"2\"} 2\n");
	/* 0.0.4 text stays as the app wrote it */
	sb_reset(&out);
	assert_int_equal(roundtrip(in, false, EXPO_PROMETHEUS, NULL, &out, NULL), 0);
	assert_non_null(strstr(
		out.buf, "h_bucket{a=\"1\",b=\"x\",le=\"1\"} 1\nh_bucket{a=\"2\",b=\"x\",le=\"1\"} 2\n"));
	sb_free(&out);
}

/* What OpenMetrics cannot carry as its type goes out untyped, one name at a time. */
static void test_openmetrics_untyped_fallback(void **state)
{
	(void)state;
	static const struct {
		const char *in, *om;
	} cases[] = {
		{ "# HELP h No +Inf.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
		  "h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n" },
		{ "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\nh_sum 1\n", /* count != +Inf */
		  "h_bucket{le=\"+Inf\"} 2\nh_count 3\nh_sum 1\n" },
		{ "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", /* _count without _sum */
		  "h_bucket{le=\"+Inf\"} 1\nh_count 1\n" },
		{ "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n",
		  "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n" },
		{ "# TYPE h histogram\nh_bucket{le=\"Inf\"} 1\n", "h_bucket{le=\"Inf\"} 1\n" },
		{ "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1.5\n", "h_bucket{le=\"+Inf\"} 1.5\n" },
		{ "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1 5\nh_sum 1 5\nh_count 1 6\n",
		  "h_bucket{le=\"+Inf\"} 1 0.005\nh_sum 1 0.005\nh_count 1 0.006\n" },
		{ "# TYPE c_total counter\nc_total{a=\"1\"} 1\nc_total{a=\"2\"} NaN\n",
		  "c_total{a=\"1\"} 1\nc_total{a=\"2\"} NaN\n" },
		{ "# TYPE s summary\ns{quantile=\"2\"} 1\n", "s{quantile=\"2\"} 1\n" },
		/* interleaved names come out one name at a time */
		{ "# TYPE h histogram\nh_bucket{a=\"1\",le=\"1\"} 1\nh_sum{a=\"1\"} 1\nh_bucket{a=\"2\",le=\"1\"} 1\n",
		  "h_bucket{a=\"1\",le=\"1\"} 1\nh_bucket{a=\"2\",le=\"1\"} 1\nh_sum{a=\"1\"} 1\n" },
	};
	struct strbuf out;
	sb_init(&out);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sb_reset(&out);
		assert_int_equal(roundtrip(cases[i].in, false, EXPO_OPENMETRICS, NULL, &out, NULL), 0);
		assert_string_equal(out.buf, cases[i].om);
		/* and 0.0.4 text keeps the family's TYPE */
		sb_reset(&out);
		assert_int_equal(roundtrip(cases[i].in, false, EXPO_PROMETHEUS, NULL, &out, NULL), 0);
		assert_non_null(strstr(out.buf, "# TYPE "));
	}
	sb_free(&out);
}

/* Found by fuzzing (tests/fuzz/fuzz_expo.c): what the renderer writes must parse again. */
static bool om_parses(const char *text)
{
	struct strbuf t;
	sb_init(&t);
	sb_puts(&t, text);
	sb_puts(&t, "# EOF\n");
	struct expo_doc *d = NULL;
	struct expo_parse_opts o = { .openmetrics = true };
	int r = expo_parse(&d, t.buf, t.len, &o, NULL);
	expo_doc_free(d);
	sb_free(&t);
	return r == 0;
}

/* llabs(LLONG_MIN) overflowed: "--9223372036854775.-808". */
static void test_fuzz_timestamp_extremes(void **state)
{
	(void)state;
	struct strbuf out;
	sb_init(&out);
	assert_int_equal(roundtrip("a 1 -9223372036854775808\n", false, EXPO_OPENMETRICS, NULL, &out, NULL),
			 0);
	assert_string_equal(out.buf, "a 1 -9223372036854775.808\n");
	assert_true(om_parses(out.buf));
	sb_reset(&out);
	assert_int_equal(roundtrip("a 1 -1\n", false, EXPO_OPENMETRICS, NULL, &out, NULL), 0);
	assert_string_equal(out.buf, "a 1 -0.001\n");
	/* OpenMetrics seconds past what milliseconds in a long long hold: llround is unspecified */
	assert_int_equal(roundtrip("a 1 1e300\n# EOF\n", true, EXPO_OPENMETRICS, NULL, &out, NULL), -EINVAL);
	assert_int_equal(roundtrip("a 1 -9.3e15\n# EOF\n", true, EXPO_OPENMETRICS, NULL, &out, NULL),
			 -EINVAL);
	sb_reset(&out);
	assert_int_equal(roundtrip("a 1 9.2e15\n# EOF\n", true, EXPO_OPENMETRICS, NULL, &out, NULL), 0);
	assert_string_equal(out.buf, "a 1 9200000000000000.000\n");
	sb_free(&out);
}

/* A text counter "a_total" next to a family "a" (or counter "a" next to "a_total"): named the
 * OpenMetrics way, the counter would clash with it and fail the whole scrape. */
static void test_fuzz_counter_name_clash(void **state)
{
	(void)state;
	struct strbuf out;
	sb_init(&out);
	assert_int_equal(roundtrip("# TYPE a_total counter\na_total 1\na 2\n", false, EXPO_OPENMETRICS, NULL,
				   &out, NULL),
			 0);
	assert_string_equal(out.buf, "a_total 1\na 2\n");
	assert_true(om_parses(out.buf));
	sb_reset(&out);
	assert_int_equal(
		roundtrip("a_total 2\n# TYPE a counter\na 1\n", false, EXPO_OPENMETRICS, NULL, &out, NULL),
		0);
	assert_string_equal(out.buf, "a_total 2\na 1\n");
	assert_true(om_parses(out.buf));
	/* no clash: still a counter */
	sb_reset(&out);
	assert_int_equal(roundtrip("# TYPE a_total counter\na_total 1\nb 2\n", false, EXPO_OPENMETRICS, NULL,
				   &out, NULL),
			 0);
	assert_string_equal(out.buf, "# TYPE a counter\na_total 1\nb 2\n");
	sb_free(&out);
}

static struct expo_doc *parse_doc(const char *text)
{
	struct expo_doc *d;
	struct strbuf err;
	sb_init(&err);
	struct expo_parse_opts o = { 0 };
	assert_int_equal(expo_parse(&d, text, strlen(text), &o, &err), 0);
	sb_free(&err);
	return d;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Daemon mode: two pods (two postgres-0 of two namespaces) with the same families are one
 * exposition: one HELP and TYPE per family, each pod's samples under its labels; a family whose
 * type differs from the first pod's is left out for the second and counted. */
static void test_render_merged(void **state)
{
	(void)state;
	struct expo_doc *a = parse_doc("# HELP pg_up Up.\n# TYPE pg_up gauge\npg_up 1\n"
				       "# TYPE pg_tx_total counter\npg_tx_total{db=\"x\"} 5\n"
				       "# TYPE only_a gauge\nonly_a 3\n");
	struct expo_doc *b =
		parse_doc("# TYPE pg_tx_total counter\npg_tx_total{db=\"y\"} 7\n"
			  "# TYPE pg_up counter\npg_up 1\n"
			  "# HELP only_b B.\n# TYPE only_b histogram\nonly_b_bucket{le=\"+Inf\"} 1\n"
			  "only_b_sum 2\nonly_b_count 1\n");
	static const char *const names[] = { "k8s_pod_name", "k8s_namespace_name" };
	static const char *const va[] = { "postgres-0", "shop" }, *const vb[] = { "postgres-0", "billing" };
	const struct expo_label_set sets[] = { { names, va, 2 }, { names, vb, 2 }, { names, vb, 2 } };
	const struct expo_doc *docs[] = { a, b, NULL }; /* a pod with no good scrape: nothing */
	unsigned conflicts[3] = { 9, 9, 9 };
	struct strbuf out;
	sb_init(&out);
	assert_int_equal(expo_render_merged(docs, sets, 3, EXPO_PROMETHEUS, false, conflicts, &out), 0);
	assert_string_equal(
		out.buf,
		"# HELP pg_up Up.\n# TYPE pg_up gauge\n"
		"pg_up{k8s_pod_name=\"postgres-0\",k8s_namespace_name=\"shop\"} 1\n"
		"# TYPE pg_tx_total counter\n"
		"pg_tx_total{k8s_pod_name=\"postgres-0\",k8s_namespace_name=\"shop\",db=\"x\"} 5\n"
		"pg_tx_total{k8s_pod_name=\"postgres-0\",k8s_namespace_name=\"billing\",db=\"y\"} 7\n"
		"# TYPE only_a gauge\n"
		"only_a{k8s_pod_name=\"postgres-0\",k8s_namespace_name=\"shop\"} 3\n"
		"# HELP only_b B.\n# TYPE only_b histogram\n"
		"only_b_bucket{k8s_pod_name=\"postgres-0\",k8s_namespace_name=\"billing\",le=\"+Inf\"} 1\n"
		"only_b_sum{k8s_pod_name=\"postgres-0\",k8s_namespace_name=\"billing\"} 2\n"
		"only_b_count{k8s_pod_name=\"postgres-0\",k8s_namespace_name=\"billing\"} 1\n");
	assert_int_equal(conflicts[0], 0);
	assert_int_equal(conflicts[1], 1); /* b's pg_up is a counter where a's is a gauge */
	assert_int_equal(conflicts[2], 0);

	/* OpenMetrics: one family block each, counters named without _total, one # EOF is the
	 * server's to add (not here). */
	sb_reset(&out);
	assert_int_equal(expo_render_merged(docs, sets, 3, EXPO_OPENMETRICS, false, NULL, &out), 0);
	assert_int_equal(count(out.buf, "# TYPE pg_tx counter\n"), 1);
	assert_int_equal(count(out.buf, "pg_tx_total{"), 2);
	assert_int_equal(count(out.buf, "# TYPE "), 4);
	assert_int_equal(count(out.buf, "# EOF"), 0);

	/* one document: what expo_render writes */
	struct strbuf one;
	sb_init(&one);
	sb_reset(&out);
	expo_render(a, &sets[0], EXPO_PROMETHEUS, false, &one);
	assert_int_equal(expo_render_merged(docs, sets, 1, EXPO_PROMETHEUS, false, NULL, &out), 0);
	assert_string_equal(out.buf, one.buf);
	sb_free(&one);
	sb_free(&out);
	expo_doc_free(a);
	expo_doc_free(b);
}

static void test_rules(void **state)
{
	(void)state;
	struct am_rule r[4];
	char err[200];
	assert_int_equal(am_rule_parse("shop/web-* metrics=9090 interval=30", &r[0], err, sizeof(err)), 0);
	assert_string_equal(r[0].ns, "shop");
	assert_string_equal(r[0].glob, "web-*");
	assert_string_equal(r[0].metrics, "http://localhost:9090/metrics");
	assert_int_equal(r[0].interval, 30);
	assert_string_equal(r[0].health, "");
	assert_int_equal(am_rule_parse("  db-*   metrics=off  health=8081/ready ", &r[1], err, sizeof(err)),
			 0);
	assert_string_equal(r[1].ns, "");
	assert_string_equal(r[1].metrics, "off");
	assert_string_equal(r[1].health, "http://localhost:8081/ready");
	assert_int_equal(
		am_rule_parse("*/envoy-* metrics=http://127.0.0.1:15090/stats/prometheus health=9901", &r[2],
			      err, sizeof(err)),
		0);
	assert_string_equal(r[2].metrics, "http://127.0.0.1:15090/stats/prometheus");
	assert_string_equal(r[2].health, "http://localhost:9901/healthz");

	const char *bad[][2] = {
		{ "web-*", "at least one" },
		{ "web-* metric=9090", "expected metrics=, interval= or health=" },
		{ "web-* metrics=", "expected metrics=" },
		{ "web-* metrics=0", "expected PORT" },
		{ "web-* metrics=65536", "expected PORT" },
		{ "web-* metrics=80x", "expected PORT" },
		{ "web-* metrics=ftp://x/", "expected PORT" },
		{ "web-* interval=0", "1 to 86400" },
		{ "web-* interval=1s", "1 to 86400" },
		{ "web-* interval=", "expected metrics=" },
		{ "/web-* metrics=1", "[NAMESPACE/]GLOB" },
		{ "shop/ metrics=1", "[NAMESPACE/]GLOB" },
		{ "metrics=1", "[NAMESPACE/]GLOB" },
		{ "", "at least one" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct am_rule x;
		err[0] = '\0';
		assert_int_equal(am_rule_parse(bad[i][0], &x, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i][1]))
			fail_msg("rule '%s': error '%s' lacks '%s'", bad[i][0], err, bad[i][1]);
	}

	/* first match decides; what it does not say comes from the options */
	struct am_defaults d = { "http://localhost:8080/metrics", 15, "http://localhost:8080/healthz" };
	struct am_pod_cfg c;
	am_pod_cfg(r, 3, &d, "shop", "web-1", &c);
	assert_int_equal(c.rule, 0);
	assert_string_equal(c.metrics, "http://localhost:9090/metrics");
	assert_int_equal(c.interval, 30);
	assert_string_equal(c.health, "http://localhost:8080/healthz");
	am_pod_cfg(r, 3, &d, "billing", "web-1", &c); /* rule 0 is shop's only */
	assert_int_equal(c.rule, -1);
	assert_string_equal(c.metrics, "http://localhost:8080/metrics");
	assert_int_equal(c.interval, 15);
	am_pod_cfg(r, 3, &d, NULL, "web-1", &c); /* namespace not known: no NS/ rule */
	assert_int_equal(c.rule, -1);
	am_pod_cfg(r, 3, &d, "x", "db-0", &c);
	assert_int_equal(c.rule, 1);
	assert_string_equal(c.metrics, ""); /* off */
	assert_string_equal(c.health, "http://localhost:8081/ready");
	am_pod_cfg(r, 3, &d, "mesh", "envoy-1", &c);
	assert_int_equal(c.rule, 2);
	struct am_defaults off = { "off", 15, NULL };
	am_pod_cfg(r, 3, &off, "x", "other", &c);
	assert_string_equal(c.metrics, "");
	assert_string_equal(c.health, "");
	am_pod_cfg(NULL, 0, &off, "x", "other", &c);
	assert_int_equal(c.rule, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prometheus_text),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_openmetrics),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_reserved_names),
		cmocka_unit_test(test_label_clash_and_timestamps),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_openmetrics_grouping),
		cmocka_unit_test(test_openmetrics_untyped_fallback),
		cmocka_unit_test(test_fuzz_timestamp_extremes),
		cmocka_unit_test(test_fuzz_counter_name_clash),
		cmocka_unit_test(test_render_merged),
		cmocka_unit_test(test_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
