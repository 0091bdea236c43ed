// SPDX-License-Identifier: GPL-2.0
/* `make bench`: the app metrics adapter's costs on a 10k-series app scrape: parsing it (with
 * the reserved-name pass) and rendering it relabelled for /metrics, in both formats.
 * Reported as medians over many runs against the 10 ms target; nothing here asserts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appmetrics/appmetrics.h"
#include "appmetrics/expo.h"
#include "util/strbuf.h"

#define RUNS 50

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* 5000 counter series (100 families x 50) and 5000 histogram series (50 families x 10 label
 * sets x 10 samples), the shape of a busy app's endpoint. */
static void make_scrape(struct strbuf *s)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH" };
	static const char *const les[] = { "0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf" };
	for (int f = 0; f < 100; f++) {
		sb_printf(s, "# HELP app_requests_%d_total Requests handled by handler %d.\n", f, f);
		sb_printf(s, "# TYPE app_requests_%d_total counter\n", f);
		for (int i = 0; i < 50; i++)
			sb_printf(
				s,
				"app_requests_%d_total{method=\"%s\",code=\"%d\",path=\"/api/v1/items/%d\"} %d\n",
				f, methods[i % 5], 200 + (i / 5) % 4 * 100, i, f * 1000 + i);
	}
	for (int f = 0; f < 50; f++) {
		sb_printf(s, "# HELP app_latency_%d_seconds Latency of stage %d.\n", f, f);
		sb_printf(s, "# TYPE app_latency_%d_seconds histogram\n", f);
		for (int l = 0; l < 10; l++) {
			for (int b = 0; b < 8; b++)
				sb_printf(s, "app_latency_%d_seconds_bucket{route=\"/r/%d\",le=\"%s\"} %d\n",
					  f, l, les[b], b * 10 + l);
			sb_printf(s, "app_latency_%d_seconds_sum{route=\"/r/%d\"} %d.25\n", f, l, l);
			sb_printf(s, "app_latency_%d_seconds_count{route=\"/r/%d\"} %d\n", f, l, 70 + l);
		}
	}
}

static void report(const char *what, double *t)
{
	qsort(t, RUNS, sizeof(*t), cmp);
	printf("  %-44s median %6.2f ms  min %6.2f ms  (%.0f%% of the 10 ms target)\n", what, t[RUNS / 2],
	       t[0], t[RUNS / 2] * 10.0);
}

int main(void)
{
	struct strbuf in, out;
	double t[RUNS];
	sb_init(&in);
	sb_init(&out);
	make_scrape(&in);

	const char *names[] = { "k8s_pod_name", "k8s_namespace_name", "k8s_node_name", "team" };
	const char *values[] = { "web-7d4b9", "shop", "node-1", "checkout" };
	struct expo_label_set labels = { names, values, 4 };
	struct expo_parse_opts o = { .max_series = 20000 };
	struct expo_doc *d = NULL;

	for (int r = 0; r < RUNS; r++) {
		expo_doc_free(d);
		double t0 = now_ms();
		if (expo_parse(&d, in.buf, in.len, &o, NULL) < 0) {
			fprintf(stderr, "bench: the generated scrape does not parse\n");
			return 1;
		}
		expo_doc_reserve(d, appmetrics_reserved_name, "app_");
		t[r] = now_ms() - t0;
	}
	printf("app metrics adapter: %u series, %zu KiB scrape\n", expo_doc_stats(d)->series, in.len / 1024);
	report("parse a 10k-series app scrape", t);
	for (int f = 0; f < 2; f++) {
		for (int r = 0; r < RUNS; r++) {
			sb_reset(&out);
			double t0 = now_ms();
			expo_render(d, &labels, f ? EXPO_OPENMETRICS : EXPO_PROMETHEUS, false, &out);
			t[r] = now_ms() - t0;
		}
		report(f ? "render it relabelled, OpenMetrics" : "render it relabelled for /metrics (0.0.4)",
		       t);
	}
	printf("  (/metrics renders once per scrape and format, then copies: %zu KiB)\n", out.len / 1024);
	expo_doc_free(d);
	sb_free(&in);
	sb_free(&out);
	return 0;
}
