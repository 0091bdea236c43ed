// SPDX-License-Identifier: GPL-2.0
/* The HTTP/2 connections being decoded, by socket cookie, and where each kernel event goes. A
 * connection that can no longer be decoded stays in the table as dead (its buffers freed) until
 * the kernel says it closed: otherwise its next frame would look like a new connection's. */
#include "internal.h"

#include "util/array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const drop_names[H2_DROP_MAX] = {
	[H2_DROP_GAP] = "gap",
	[H2_DROP_MALFORMED] = "malformed",
	[H2_DROP_EVENTS] = "events_lost",
	[H2_DROP_BUDGET] = "frame_budget",
	[H2_DROP_HPACK] = "hpack",
	[H2_DROP_BLOCK] = "header_block_too_large",
	[H2_DROP_SEQUENCE] = "frame_order",
	[H2_DROP_LIMIT] = "connection_limit",
};

const char *h2_drop_name(enum h2_drop d)
{
	return d < H2_DROP_MAX ? drop_names[d] : "unknown";
}

int h2_bytes_add(struct h2_bytes *x, const void *p, size_t n, size_t max)
{
	if (x->len + n > max)
		return -E2BIG;
	if (!array_grow((void **)&x->b, &x->cap, x->len + n, 1))
		return -ENOMEM;
	if (n)
		memcpy(x->b + x->len, p, n);
	x->len += n;
	return 0;
}

void h2_bytes_free(struct h2_bytes *x)
{
	free(x->b);
	memset(x, 0, sizeof(*x));
}

static void dir_free(struct h2_dir *d)
{
	if (d->inf)
		nghttp2_hd_inflate_del(d->inf);
	d->inf = NULL;
	h2_bytes_free(&d->payload);
	h2_bytes_free(&d->block);
}

static uint64_t cookie_hash(uint64_t cookie)
{
	return fnv1a64(FNV1A64_INIT, &cookie, sizeof(cookie));
}

static uint64_t pos_hash(const void *ctx, uint32_t pos)
{
	const struct h2_tracker *t = ctx;
	return cookie_hash(t->conns[pos]->cookie);
}

static bool pos_eq(const void *ctx, uint32_t pos, const void *key)
{
	const struct h2_tracker *t = ctx;
	return t->conns[pos]->cookie == *(const uint64_t *)key;
}

static struct h2_conn *find(const struct h2_tracker *t, uint64_t cookie)
{
	uint32_t *slot = index_find(&t->ix, cookie_hash(cookie), pos_eq, t, &cookie);
	return slot && *slot ? t->conns[*slot - 1] : NULL;
}

static void conn_free(struct h2_tracker *t, struct h2_conn *c)
{
	h2_streams_clear(t, c);
	free(c->streams);
	dir_free(&c->d[0]);
	dir_free(&c->d[1]);
	free(c);
}

/* The live count of a pod (created at 0). NULL on out of memory. */
static uint32_t *pod_live(struct h2_tracker *t, uint32_t pod_id)
{
	for (size_t i = 0; i < t->npods; i++)
		if (t->pods[i].pod_id == pod_id)
			return &t->pods[i].live;
	if (!array_grow((void **)&t->pods, &t->cap_pods, t->npods + 1, sizeof(*t->pods)))
		return NULL;
	t->pods[t->npods].pod_id = pod_id;
	t->pods[t->npods].live = 0;
	return &t->pods[t->npods++].live;
}

/* c stops counting as live. */
static void unlive(struct h2_tracker *t, struct h2_conn *c)
{
	uint32_t *n = pod_live(t, c->pod_id);
	if (n && *n)
		(*n)--;
	t->live--;
}

void h2_conn_drop(struct h2_tracker *t, struct h2_conn *c, enum h2_drop why)
{
	if (c->dead)
		return;
	c->dead = true;
	unlive(t, c);
	t->st.dropped[why]++;
	h2_streams_clear(t, c);
	dir_free(&c->d[0]);
	dir_free(&c->d[1]);
}

/* A connection the table does not hold yet. Beyond max_conns of its pod it is made dead at once
 * (counted once); entries of all pods are bounded, at twice max_conns for each pod seen, past
 * which nothing is added. */
static struct h2_conn *add(struct h2_tracker *t, const struct obsbpf_h2_event *e)
{
	uint32_t *pl = pod_live(t, e->pod_id);
	if (!pl || t->nconns >= 2 * (size_t)t->lim.max_conns * t->npods ||
	    !index_reserve(&t->ix, t->nconns, pos_hash, t) ||
	    !array_grow((void **)&t->conns, &t->cap_conns, t->nconns + 1, sizeof(*t->conns)))
		return NULL;
	struct h2_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cookie = e->conn;
	c->pod_id = e->pod_id;
	c->dir = e->dir;
	for (int i = 0; i < 2; i++) {
		c->d[i].table_max = 4096; /* SETTINGS_HEADER_TABLE_SIZE's initial value */
		c->d[i].next_n = 1;
	}
	uint32_t *slot = index_find(&t->ix, cookie_hash(c->cookie), pos_eq, t, &c->cookie);
	t->conns[t->nconns] = c;
	*slot = (uint32_t)++t->nconns;
	t->st.opened++;
	t->live++;
	(*pl)++;
	if (*pl > t->lim.max_conns)
		h2_conn_drop(t, c, H2_DROP_LIMIT);
	return c;
}

static void remove_conn(struct h2_tracker *t, struct h2_conn *c)
{
	for (size_t i = 0; i < t->nconns; i++) {
		if (t->conns[i] != c)
			continue;
		if (!c->dead)
			unlive(t, c);
		conn_free(t, c);
		t->conns[i] = t->conns[--t->nconns];
		index_fill(&t->ix, t->nconns, pos_hash, t);
		return;
	}
}

void h2_tracker_event(struct h2_tracker *t, const void *data, size_t len)
{
	const struct obsbpf_h2_event *e = data;
	/* Events without payload bytes end where the bytes would start. */
	if (len < OBSBPF_H2_EVENT_HDR || e->len > OBSBPF_H2_CHUNK || len < OBSBPF_H2_EVENT_HDR + e->len)
		return;
	struct h2_conn *c = find(t, e->conn);
	switch (e->kind) {
	case OBSBPF_H2_EV_CLOSE:
		if (c && !c->dead && e->type)
			h2_streams_unanswered(t, c, (uint16_t)OBSBPF_H2_CLOSE_REASON(e->type), e->ts_ns);
		if (c)
			remove_conn(t, c);
		return;
	case OBSBPF_H2_EV_LOST:
		if (!c)
			c = add(t, e);
		if (c && e->type >= OBSBPF_H2_LOST_GAP && e->type <= OBSBPF_H2_LOST_BUDGET)
			h2_conn_drop(t, c, (enum h2_drop)(H2_DROP_GAP + e->type - OBSBPF_H2_LOST_GAP));
		return;
	case OBSBPF_H2_EV_OPEN:
		if (!c)
			c = add(t, e);
		if (c && e->len >= sizeof(c->addrs)) {
			memcpy(&c->addrs, e->data, sizeof(c->addrs));
			c->has_addrs = true;
		}
		if (c)
			c->tls = e->flags & OBSBPF_H2_OPEN_TLS;
		return;
	case OBSBPF_H2_EV_FRAME:
	case OBSBPF_H2_EV_MORE:
		if (!c)
			c = add(t, e);
		if (!c || c->dead)
			return;
		struct h2_dir *d = &c->d[e->from_client & 1];
		/* A number skipped: events of this direction were lost (ring buffer full), and with
		 * them HPACK state. */
		if (e->n != d->next_n) {
			h2_conn_drop(t, c, H2_DROP_EVENTS);
			return;
		}
		d->next_n++;
		h2_frame_event(t, c, e);
		return;
	}
}

struct h2_tracker *h2_tracker_new(const struct h2_limits *l, h2_exchange_fn fn, void *arg)
{
	struct h2_tracker *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->lim = l ? *l : H2_DEFAULT_LIMITS;
	t->fn = fn;
	t->arg = arg;
	return t;
}

void h2_tracker_free(struct h2_tracker *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nconns; i++)
		conn_free(t, t->conns[i]);
	free(t->conns);
	free(t->pods);
	index_free(&t->ix);
	free(t);
}

void h2_tracker_forget_pod(struct h2_tracker *t, uint32_t pod_id)
{
	for (size_t i = 0; i < t->nconns;) {
		struct h2_conn *c = t->conns[i];
		if (c->pod_id != pod_id) {
			i++;
			continue;
		}
		if (!c->dead)
			unlive(t, c);
		conn_free(t, c);
		t->conns[i] = t->conns[--t->nconns];
	}
	index_fill(&t->ix, t->nconns, pos_hash, t);
}

const struct h2_stats *h2_tracker_stats(const struct h2_tracker *t)
{
	((struct h2_tracker *)t)->st.conns = t->live;
	return &t->st;
}
