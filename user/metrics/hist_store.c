// SPDX-License-Identifier: GPL-2.0
#include "hist_store.h"
#include "buckets.h"

#include "util/array.h"
#include "util/index.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct series {
	uint32_t pod_id;
	uint8_t family;
	char *labels;
	uint64_t count, sum_ns;
	uint64_t buckets[OBSBPF_HIST_BUCKETS]; /* not cumulative */
	struct exemplar ex[OBSBPF_HIST_BUCKETS];
};

struct hist_store {
	struct series *v;
	size_t n, cap;
	unsigned max_series;
	struct index ix;
	uint64_t dropped;
};

struct key {
	uint32_t pod_id;
	uint8_t family;
	const char *labels;
};

static uint64_t key_hash(uint32_t pod_id, uint8_t family, const char *labels)
{
	uint64_t h = fnv1a64(FNV1A64_INIT, &pod_id, sizeof(pod_id));
	h = fnv1a64(h, &family, 1);
	return fnv1a64_str(h, labels);
}

static uint64_t pos_hash(const void *ctx, uint32_t pos)
{
	const struct series *x = &((const struct hist_store *)ctx)->v[pos];
	return key_hash(x->pod_id, x->family, x->labels);
}

static bool pos_eq(const void *ctx, uint32_t pos, const void *key)
{
	const struct series *x = &((const struct hist_store *)ctx)->v[pos];
	const struct key *k = key;
	return x->pod_id == k->pod_id && x->family == k->family && !strcmp(x->labels, k->labels);
}

struct hist_store *hist_store_new(unsigned max_series)
{
	struct hist_store *s = calloc(1, sizeof(*s));
	if (s)
		s->max_series = max_series;
	return s;
}

void hist_store_free(struct hist_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].labels);
	free(s->v);
	index_free(&s->ix);
	free(s);
}

static struct series *get(struct hist_store *s, uint32_t pod_id, enum hist_family f, const char *labels)
{
	struct key k = { pod_id, (uint8_t)f, labels };
	uint64_t h = key_hash(pod_id, (uint8_t)f, labels);
	uint32_t *slot = index_find(&s->ix, h, pos_eq, s, &k);
	if (slot && *slot)
		return &s->v[*slot - 1];
	if (s->n >= s->max_series) {
		errno = ENOSPC;
		return NULL;
	}
	char *l = strdup(labels);
	if (!l || !index_reserve(&s->ix, s->n, pos_hash, s) ||
	    !array_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v))) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	slot = index_find(&s->ix, h, pos_eq, s, &k);
	struct series *x = &s->v[s->n];
	memset(x, 0, sizeof(*x));
	x->pod_id = pod_id;
	x->family = (uint8_t)f;
	x->labels = l;
	*slot = (uint32_t)++s->n;
	return x;
}

int hist_store_record(struct hist_store *s, uint32_t pod_id, enum hist_family f, const char *labels,
		      uint64_t ns, const struct obsbpf_trace *t, int64_t unix_ms)
{
	struct series *x = get(s, pod_id, f, labels);
	if (!x) {
		s->dropped++;
		return -errno;
	}
	unsigned b = hist_kernel_bucket(ns);
	x->count++;
	x->sum_ns += ns;
	x->buckets[b]++;
	/* Exemplars link to spans: only sampled traces have them. */
	if (t && t->origin != OBSBPF_TO_NONE && (t->flags & OBSBPF_TRACE_SAMPLED)) {
		struct exemplar *e = &x->ex[b];
		memcpy(e->trace_id, t->trace_id, sizeof(e->trace_id));
		memcpy(e->span_id, t->span_id, sizeof(e->span_id));
		e->value_ns = ns;
		e->unix_ms = unix_ms;
		e->set = true;
	}
	return 0;
}

static int cmp_series(const void *a, const void *b)
{
	const struct series *x = *(const struct series *const *)a, *y = *(const struct series *const *)b;
	if (x->pod_id != y->pod_id)
		return x->pod_id < y->pod_id ? -1 : 1;
	return strcmp(x->labels, y->labels);
}

static void labels(struct strbuf *out, const struct series *x, const struct pod_labels *l)
{
	sb_puts(out, x->labels);
	sb_putc(out, ',');
	red_pod_label_set(out, l);
}

static const char *const family_names[HF_MAX] = {
	[HF_HTTP_SERVER] = "http_server_request_duration_seconds",
	[HF_HTTP_CLIENT] = "http_client_request_duration_seconds",
	[HF_RPC_SERVER] = "rpc_server_duration_seconds",
	[HF_RPC_CLIENT] = "rpc_client_duration_seconds",
};

void hist_store_render(const struct hist_store *s, struct strbuf *out, enum exposition_format fmt,
		       enum hist_family f, const struct red_pod *pods, int npods)
{
	if (!s || !s->n)
		return;
	const struct series **v = malloc(s->n * sizeof(*v));
	size_t n = 0;
	if (!v) {
		out->oom = true;
		return;
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].family == f)
			v[n++] = &s->v[i];
	qsort(v, n, sizeof(*v), cmp_series);
	const char *name = family_names[f];
	struct strbuf lb;
	sb_init(&lb);
	for (size_t i = 0; i < n; i++) {
		const struct series *x = v[i];
		const struct pod_labels *l = red_labels_for(pods, npods, x->pod_id);
		if (!l)
			continue;
		sb_reset(&lb);
		labels(&lb, x, l);
		if (lb.oom) {
			out->oom = true;
			break;
		}
		hist_write_series(out, fmt, name, lb.buf, x->buckets, x->count, x->sum_ns, x->ex);
	}
	sb_free(&lb);
	free(v);
}

void hist_store_forget_pod(struct hist_store *s, uint32_t pod_id)
{
	size_t w = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].pod_id == pod_id) {
			free(s->v[i].labels);
			continue;
		}
		s->v[w++] = s->v[i];
	}
	s->n = w;
	index_fill(&s->ix, s->n, pos_hash, s);
}

unsigned hist_store_series(const struct hist_store *s)
{
	return s ? (unsigned)s->n : 0;
}

uint64_t hist_store_dropped(const struct hist_store *s)
{
	return s ? s->dropped : 0;
}
