// SPDX-License-Identifier: GPL-2.0
/* The exemplar store: a dense array of series (key + one slot per bucket), found through an
 * open-addressing index of positions. Eviction compacts the array and rebuilds the index,
 * which costs what one render of the histograms costs anyway. */
#include "exemplars.h"

#include "bpf/datapath.h"
#include "buckets.h"
#include "util/clock.h"
#include "util/index.h"

#include <stdlib.h>
#include <string.h>

struct ex_series {
	struct obsbpf_hist_key key;
	bool keep; /* exemplars_retain: still in the kernel's map */
	struct exemplar slot[OBSBPF_HIST_BUCKETS];
};

struct exemplars {
	struct ex_series *series;
	unsigned n, cap, max;
	struct index index; /* of series[0 .. n-1] by key */
	uint64_t dropped;
	struct clock_offset clock; /* monotonic event times -> wall clock */
};

static uint32_t key_hash(const struct obsbpf_hist_key *k)
{
	return fnv1a32(FNV1A32_INIT, k,
		       sizeof(*k)); /* the key has no padding (4 + 4 + 2 + 1 + 1 + 1 + 1 + 2 + 16) */
}

static uint64_t series_hash(const void *ctx, uint32_t pos)
{
	return key_hash(&((const struct exemplars *)ctx)->series[pos].key);
}

static bool series_eq(const void *ctx, uint32_t pos, const void *key)
{
	return !memcmp(&((const struct exemplars *)ctx)->series[pos].key, key,
		       sizeof(struct obsbpf_hist_key));
}

static uint32_t *index_slot(const struct exemplars *x, const struct obsbpf_hist_key *k)
{
	return index_find(&x->index, key_hash(k), series_eq, x, k);
}

struct exemplars *exemplars_new(unsigned max_series)
{
	struct exemplars *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->max = max_series;
	if (!index_reserve(&x->index, 0, series_hash, x)) {
		free(x);
		return NULL;
	}
	return x;
}

void exemplars_free(struct exemplars *x)
{
	if (!x)
		return;
	free(x->series);
	index_free(&x->index);
	free(x);
}

/* The slots of k's series, created when missing; NULL when full or out of memory. */
static struct ex_series *series_get(struct exemplars *x, const struct obsbpf_hist_key *k)
{
	uint32_t *s = index_slot(x, k);
	if (*s)
		return &x->series[*s - 1];
	if (x->n == x->max)
		return NULL;
	if (x->n == x->cap) {
		unsigned cap = x->cap ? x->cap * 2 : 8;
		if (cap > x->max)
			cap = x->max;
		struct ex_series *ns = realloc(x->series, cap * sizeof(*ns));
		if (!ns)
			return NULL;
		x->series = ns;
		x->cap = cap;
	}
	if (!index_reserve(&x->index, x->n, series_hash, x))
		return NULL;
	s = index_slot(x, k); /* the slots may have moved */
	struct ex_series *e = &x->series[x->n];
	memset(e, 0, sizeof(*e));
	e->key = *k;
	*s = ++x->n;
	return e;
}

/* Only a sampled trace has spans for an exemplar to link to. */
static bool sampled(const struct obsbpf_trace *t)
{
	static const uint8_t zero[16];
	return t->origin != OBSBPF_TO_NONE && (t->flags & OBSBPF_TRACE_SAMPLED) &&
		memcmp(t->trace_id, zero, sizeof(t->trace_id));
}

void exemplars_key_of(const struct obsbpf_http_event *e, struct obsbpf_hist_key *k)
{
	memset(k, 0, sizeof(*k));
	k->pod_id = e->pod_id;
	k->route_id = e->route_id;
	k->status = e->status;
	k->method = e->method;
	k->dir = e->dir;
	k->http10 = e->http10;
	if (e->dir == OBSBPF_DIR_CLIENT) { /* as bpf/record.bpf.c keys client series */
		k->family = (uint8_t)e->addrs.family;
		k->peer_port = e->addrs.remote_port;
		memcpy(k->peer, e->addrs.remote, sizeof(k->peer));
	}
}

void exemplars_record_at(struct exemplars *x, const struct obsbpf_http_event *e, int64_t unix_ms)
{
	const struct obsbpf_trace *t = &e->trace;
	if (!x || !sampled(t))
		return;
	struct obsbpf_hist_key k;
	exemplars_key_of(e, &k);
	struct ex_series *s = series_get(x, &k);
	if (!s) {
		x->dropped++;
		return;
	}
	/* The kernel's histogram uses the same duration and bounds, so the exemplar lands in the
	 * bucket that counted the request. */
	uint64_t dur = e->end_ns > e->start_ns ? e->end_ns - e->start_ns : 0;
	struct exemplar *ex = &s->slot[hist_kernel_bucket(dur)];
	memcpy(ex->trace_id, t->trace_id, sizeof(ex->trace_id));
	memcpy(ex->span_id, t->span_id, sizeof(ex->span_id));
	ex->value_ns = dur;
	ex->unix_ms = unix_ms;
	ex->set = true;
}

void exemplars_record(struct exemplars *x, const struct obsbpf_http_event *e)
{
	if (!x || !sampled(&e->trace))
		return;
	/* Event times are CLOCK_MONOTONIC (bpf_ktime_get_ns); exemplars carry wall-clock time. */
	int64_t unix_ns = (int64_t)e->end_ns + clock_offset_at(&x->clock, e->end_ns);
	exemplars_record_at(x, e, unix_ns / 1000000);
}

const struct exemplar *exemplars_get(const struct exemplars *x, const struct obsbpf_hist_key *k)
{
	if (!x || !x->n)
		return NULL;
	uint32_t s = *index_slot(x, k);
	return s ? x->series[s - 1].slot : NULL;
}

void exemplars_retain(struct exemplars *x, const struct dp_hist_entry *h, int nh)
{
	if (!x || !x->n)
		return;
	for (unsigned i = 0; i < x->n; i++)
		x->series[i].keep = false;
	for (int i = 0; i < nh; i++) {
		uint32_t s = *index_slot(x, &h[i].key);
		if (s)
			x->series[s - 1].keep = true;
	}
	unsigned n = 0;
	for (unsigned i = 0; i < x->n; i++)
		if (x->series[i].keep)
			x->series[n++] = x->series[i];
	if (n == x->n)
		return;
	x->n = n;
	/* positions moved; the array and the index keep their size for the series to come */
	index_fill(&x->index, n, series_hash, x);
}

unsigned exemplars_series(const struct exemplars *x)
{
	return x ? x->n : 0;
}

uint64_t exemplars_dropped(const struct exemplars *x)
{
	return x ? x->dropped : 0;
}
