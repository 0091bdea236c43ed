// SPDX-License-Identifier: GPL-2.0
/* Kernel event -> span record, and the bounded queue spans wait in until exported. */
#include "internal.h"

#include "metrics/red.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool span_from_event(struct span *s, const struct obsbpf_http_event *e, const char *route,
		     int64_t mono_to_unix_ns, uint16_t res)
{
	if (e->trace.origin == OBSBPF_TO_NONE)
		return false;
	memset(s, 0, sizeof(*s));
	memcpy(s->trace_id, e->trace.trace_id, sizeof(s->trace_id));
	memcpy(s->span_id, e->trace.span_id, sizeof(s->span_id));
	memcpy(s->parent_id, e->trace.parent_id, sizeof(s->parent_id));
	s->flags = e->trace.flags;
	s->dir = e->dir;
	s->method = e->method < OBSBPF_M_MAX ? e->method : OBSBPF_M_OTHER;
	s->status = e->status;
	s->res = res;
	s->tid = e->tid;
	s->start_unix_ns = (uint64_t)((int64_t)e->start_ns + mono_to_unix_ns);
	s->end_unix_ns =
		(uint64_t)((int64_t)(e->end_ns > e->start_ns ? e->end_ns : e->start_ns) + mono_to_unix_ns);
	s->addrs = e->addrs;
	/* http.route is the server's matched route (semantic conventions): a client span has none. */
	if (route && e->dir == OBSBPF_DIR_SERVER)
		snprintf(s->route, sizeof(s->route), "%s", route);
	return true;
}

void span_name(const struct span *s, char *out, size_t n)
{
	/* Semantic conventions: "{method} {route}", the method alone without a route, and "HTTP"
	 * in place of a method outside the known set. */
	const char *m = s->method == OBSBPF_M_OTHER ? "HTTP" : red_method_name(s->method);
	if (!n)
		return;
	/* What snprintf("%s %s") would write, without its formatting (once per exported span). */
	size_t k = strlen(m) < n - 1 ? strlen(m) : n - 1;
	memcpy(out, m, k);
	size_t rl = strnlen(s->route, sizeof(s->route));
	if (rl && k < n - 1) {
		out[k++] = ' ';
		size_t r = rl < n - 1 - k ? rl : n - 1 - k;
		memcpy(out + k, s->route, r);
		k += r;
	}
	out[k] = '\0';
}

bool span_is_error(const struct span *s)
{
	return s->status >= (s->dir == OBSBPF_DIR_SERVER ? 500 : 400);
}

int squeue_init(struct span_queue *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	if (!cap || !(q->v = calloc(cap, sizeof(*q->v))))
		return -ENOMEM;
	q->cap = cap;
	return 0;
}

void squeue_free(struct span_queue *q)
{
	free(q->v);
	memset(q, 0, sizeof(*q));
}

bool squeue_push(struct span_queue *q, const struct span *s)
{
	if (q->len == q->cap)
		return false;
	q->v[(q->head + q->len) % q->cap] = *s;
	q->len++;
	return true;
}

const struct span *squeue_at(const struct span_queue *q, size_t i)
{
	return i < q->len ? &q->v[(q->head + i) % q->cap] : NULL;
}

void squeue_pop(struct span_queue *q, size_t n)
{
	if (n > q->len)
		n = q->len;
	q->head = (q->head + n) % q->cap;
	q->len -= n;
}
