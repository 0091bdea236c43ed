/* SPDX-License-Identifier: GPL-2.0 */
/* Which of the kernel's histogram bounds (OBSBPF_HIST_BOUNDS) /metrics renders
 * (--histogram-buckets): OpenTelemetry's advised boundaries for HTTP durations (the default) or
 * the fine low ones. Either set is a subset of the kernel's bounds, so a rendered bucket's count
 * is exact: the sum of the kernel buckets at or below its bound. */
#ifndef OBSBPF_BUCKETS_H
#define OBSBPF_BUCKETS_H

#include <stdint.h>

#include <obsbpf/types.h>

#include "http/server.h"

struct strbuf;
struct exemplar;

enum hist_buckets {
	HB_OTEL = 0, /* 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10 */
	HB_FINE,     /* 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, ..., 0.1, 0.25, 0.5, 1, 2.5, 5, 10 */
};

/* Process-wide, set once from the options before anything renders. */
void hist_buckets_set(enum hist_buckets b);
enum hist_buckets hist_buckets_get(void);
/* "otel" or "fine" -> 0 and *out; -1 otherwise. */
int hist_buckets_parse(const char *s, enum hist_buckets *out);

/* The kernel bucket index (0 .. OBSBPF_HIST_NBOUNDS, the last +Inf) a duration falls in. */
unsigned hist_kernel_bucket(uint64_t ns);

/* One histogram series: name_bucket{labels,le=...} for the rendered bounds and +Inf, name_sum,
 * name_count. buckets: the kernel's OBSBPF_HIST_BUCKETS counts (not cumulative); xs (NULL: none)
 * one exemplar slot per kernel bucket, only written in OpenMetrics: a rendered bucket carries
 * the latest exemplar of the kernel buckets it covers. count below the buckets' sum is raised
 * to it (a snapshot may catch the kernel between count and bucket). */
void hist_write_series(struct strbuf *out, enum exposition_format fmt, const char *name, const char *labels,
		       const uint64_t *buckets, uint64_t count, uint64_t sum_ns, const struct exemplar *xs);

#endif
