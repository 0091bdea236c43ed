// SPDX-License-Identifier: GPL-2.0
/* Kernel event -> span record, and the bounded queue spans wait in until exported. */
#include "internal.h"

#include "h2/h2.h"
#include "metrics/red.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool url_query_keep;

void span_set_url_query_keep(bool keep)
{
	url_query_keep = keep;
}

bool span_url_query_keep(void)
{
	return url_query_keep;
}

/* snprintf(out, n, "%s", v) without the formatting: once or twice per span; out is zeroed. */
static void copy_str(char *out, size_t n, const char *v)
{
	memcpy(out, v, strnlen(v, n - 1));
}

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
	s->proto = 1;
	s->minor = e->http10 ? 0 : 1;
	/* http.route is the server's matched route (semantic conventions): a client span has none.
	 * The kernel keeps one path per route: url.path and url.full have the route's. */
	if (route && e->dir == OBSBPF_DIR_SERVER)
		copy_str(s->route, sizeof(s->route), route);
	if (route && route[0] == '/')
		copy_str(s->path, sizeof(s->path), route);
	return true;
}

/* The enum obsbpf_method of an HTTP/2 :method. */
static uint8_t method_of(const char *m)
{
	for (unsigned i = 1; i < OBSBPF_M_MAX; i++)
		if (!strcmp(m, red_method_name(i)))
			return (uint8_t)i;
	return OBSBPF_M_OTHER;
}

void span_from_exchange(struct span *s, const struct h2_exchange *x, const struct obsbpf_trace *tr,
			const char *route, int64_t mono_to_unix_ns)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->trace_id, tr->trace_id, sizeof(s->trace_id));
	memcpy(s->span_id, tr->span_id, sizeof(s->span_id));
	memcpy(s->parent_id, tr->parent_id, sizeof(s->parent_id));
	s->flags = tr->flags;
	s->dir = x->dir;
	s->method = method_of(x->method);
	s->status = x->status;
	s->start_unix_ns = (uint64_t)((int64_t)x->start_ns + mono_to_unix_ns);
	s->end_unix_ns = (uint64_t)((int64_t)x->end_ns + mono_to_unix_ns);
	s->addrs = x->addrs;
	s->proto = x->version == 1 ? 1 : 2;
	s->minor = x->minor;
	s->tls = x->tls;
	snprintf(s->path, sizeof(s->path), "%s", x->path);
	if (x->dir == OBSBPF_DIR_CLIENT)
		snprintf(s->authority, sizeof(s->authority), "%s", x->authority);
	if (x->grpc) {
		s->rpc = true;
		s->grpc_status = (int16_t)h2_grpc_status(x);
		s->closed = x->closed;
		if (!span_rpc_split(x->path, s->rpc_service, sizeof(s->rpc_service), s->rpc_method,
				    sizeof(s->rpc_method))) {
			snprintf(s->rpc_service, sizeof(s->rpc_service), "_OTHER");
			snprintf(s->rpc_method, sizeof(s->rpc_method), "_OTHER");
		}
	} else if (route && x->dir == OBSBPF_DIR_SERVER) {
		snprintf(s->route, sizeof(s->route), "%s", route);
	}
}

void span_name(const struct span *s, char *out, size_t n)
{
	if (!n)
		return;
	if (s->rpc) {
		snprintf(out, n, "%s/%s", s->rpc_service, s->rpc_method);
		return;
	}
	/* Semantic conventions: "{method} {route}", the method alone without a route, and "HTTP"
	 * in place of a method outside the known set. */
	const char *m = s->method == OBSBPF_M_OTHER ? "HTTP" : red_method_name(s->method);
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
	return red_failed(s->dir, s->rpc, s->grpc_status, s->status);
}

bool span_rpc_split(const char *path, char *service, size_t ns, char *method, size_t nm)
{
	const char *slash = path[0] == '/' ? strchr(path + 1, '/') : NULL;
	if (!slash || slash == path + 1 || !slash[1] || strchr(slash + 1, '/'))
		return false;
	snprintf(service, ns, "%.*s", (int)(slash - path - 1), path + 1);
	snprintf(method, nm, "%s", slash + 1);
	return true;
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
	struct span *slot = squeue_slot(q);
	if (!slot)
		return false;
	*slot = *s;
	squeue_commit(q);
	return true;
}

struct span *squeue_slot(struct span_queue *q)
{
	return q->len == q->cap ? NULL : &q->v[(q->head + q->len) % q->cap];
}

void squeue_commit(struct span_queue *q)
{
	q->len++;
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
