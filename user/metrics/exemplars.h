/* SPDX-License-Identifier: GPL-2.0 */
/* Exemplars for the duration histograms: per series (struct obsbpf_hist_key) and bucket, the
 * latest sampled request that landed there, with its trace and span id, duration and time.
 * Fed from the ring buffer events, read by red_render in OpenMetrics. Memory is one slot per
 * series x bucket, for at most max_series series; series the kernel no longer has go with
 * exemplars_retain. Single-threaded, like the event loop that owns it. */
#ifndef OBSBPF_EXEMPLARS_H
#define OBSBPF_EXEMPLARS_H

#include <stdbool.h>
#include <stdint.h>

#include <obsbpf/types.h>

struct exemplars;
struct dp_hist_entry;

struct exemplar {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint64_t value_ns; /* the request's duration */
	int64_t unix_ms;   /* when it ended, wall clock */
	bool set;
};

/* NULL on out of memory. */
struct exemplars *exemplars_new(unsigned max_series);
void exemplars_free(struct exemplars *x);

/* Keeps e as its series' exemplar for the bucket its duration falls in, when e carries a
 * sampled trace (unsampled traces have no spans to link to). x may be NULL. */
void exemplars_record(struct exemplars *x, const struct obsbpf_http_event *e);
/* As above with the event's end given as wall-clock milliseconds (for tests). */
void exemplars_record_at(struct exemplars *x, const struct obsbpf_http_event *e, int64_t unix_ms);

/* The histogram series an event was counted in, as the kernel keys it (bpf/record.bpf.c). */
void exemplars_key_of(const struct obsbpf_http_event *e, struct obsbpf_hist_key *k);

/* The OBSBPF_HIST_BUCKETS slots of a series, or NULL when it has none. */
const struct exemplar *exemplars_get(const struct exemplars *x, const struct obsbpf_hist_key *k);

/* Forgets every series not in the snapshot h[0..nh) (the kernel's histogram map). */
void exemplars_retain(struct exemplars *x, const struct dp_hist_entry *h, int nh);

unsigned exemplars_series(const struct exemplars *x);
/* Events whose series could not get slots because max_series were in use. */
uint64_t exemplars_dropped(const struct exemplars *x);

#endif
