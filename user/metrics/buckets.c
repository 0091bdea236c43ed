// SPDX-License-Identifier: GPL-2.0
#include "buckets.h"

#include "exemplars.h"
#include "red.h"
#include "util/strbuf.h"

#include <string.h>

static const uint64_t bounds_ns[OBSBPF_HIST_NBOUNDS] = { OBSBPF_HIST_BOUNDS };

/* OpenTelemetry semantic conventions 1.26, http.server.request.duration and
 * http.client.request.duration: ExplicitBucketBoundaries advice, in seconds. */
static const uint64_t otel_ns[] = { 5000000ull,	   10000000ull,	  25000000ull,	 50000000ull,	75000000ull,
				    100000000ull,  250000000ull,  500000000ull,	 750000000ull,	1000000000ull,
				    2500000000ull, 5000000000ull, 7500000000ull, 10000000000ull };
static const uint64_t fine_ns[] = { 100000ull,	   250000ull,	  500000ull,	 1000000ull,
				    2500000ull,	   5000000ull,	  10000000ull,	 25000000ull,
				    50000000ull,   100000000ull,  250000000ull,	 500000000ull,
				    1000000000ull, 2500000000ull, 5000000000ull, 10000000000ull };

static enum hist_buckets current = HB_OTEL;

void hist_buckets_set(enum hist_buckets b)
{
	current = b;
}

enum hist_buckets hist_buckets_get(void)
{
	return current;
}

int hist_buckets_parse(const char *s, enum hist_buckets *out)
{
	if (!strcmp(s, "otel"))
		*out = HB_OTEL;
	else if (!strcmp(s, "fine"))
		*out = HB_FINE;
	else
		return -1;
	return 0;
}

unsigned hist_kernel_bucket(uint64_t ns)
{
	unsigned b = 0;
	while (b < OBSBPF_HIST_NBOUNDS && ns > bounds_ns[b]) /* le: the bound is inclusive */
		b++;
	return b;
}

static const uint64_t *rendered(size_t *n)
{
	if (current == HB_FINE) {
		*n = sizeof(fine_ns) / sizeof(fine_ns[0]);
		return fine_ns;
	}
	*n = sizeof(otel_ns) / sizeof(otel_ns[0]);
	return otel_ns;
}

static void put_labels(struct strbuf *out, const char *name, const char *suffix, const char *labels)
{
	sb_printf(out, "%s%s{%s", name, suffix, labels);
}

void hist_write_series(struct strbuf *out, enum exposition_format fmt, const char *name, const char *labels,
		       const uint64_t *buckets, uint64_t count, uint64_t sum_ns, const struct exemplar *xs)
{
	size_t nr;
	const uint64_t *r = rendered(&nr);
	uint64_t total = 0;
	for (int b = 0; b < OBSBPF_HIST_BUCKETS; b++)
		total += buckets[b];
	if (count > total)
		total = count;
	if (fmt != EXPO_OPENMETRICS)
		xs = NULL;
	unsigned k = 0; /* next kernel bucket to add */
	uint64_t cum = 0;
	for (size_t i = 0; i <= nr; i++) {
		/* Kernel buckets up to this rendered bound (all that remain for +Inf). */
		const struct exemplar *best = NULL;
		while (k < OBSBPF_HIST_BUCKETS &&
		       (i == nr || (k < OBSBPF_HIST_NBOUNDS && bounds_ns[k] <= r[i]))) {
			cum += buckets[k];
			if (xs && xs[k].set && (!best || xs[k].unix_ms >= best->unix_ms))
				best = &xs[k];
			k++;
		}
		put_labels(out, name, "_bucket", labels);
		if (i < nr)
			sb_printf(out, ",le=\"%g\"} %llu", (double)r[i] / 1e9, (unsigned long long)cum);
		else
			sb_printf(out, ",le=\"+Inf\"} %llu", (unsigned long long)total);
		if (best)
			red_put_exemplar(out, best);
		sb_putc(out, '\n');
	}
	put_labels(out, name, "_sum", labels);
	sb_printf(out, "} %.9f\n", (double)sum_ns / 1e9);
	put_labels(out, name, "_count", labels);
	sb_printf(out, "} %llu\n", (unsigned long long)total);
}
