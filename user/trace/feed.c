// SPDX-License-Identifier: GPL-2.0
/* The agent's ring-buffer callback: event -> route path -> tracer_add. The kernel's route
 * table maps an id to a path; reading the whole map per event would be wasteful, so a small
 * cache is refreshed from it only when an id is not in the cache. */
#include "internal.h"

#include "bpf/datapath.h"
#include "metrics/red.h"
#include "metrics/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *cached(struct tracer_feed *f, uint32_t id)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->cache[i].id == id)
			return f->cache[i].route;
	return NULL;
}

static const char *route_of(struct tracer_feed *f, uint32_t id)
{
	if (id == OBSBPF_ROUTE_OVERFLOW)
		return "_OTHER";
	const char *r = cached(f, id);
	if (r || !f->dp)
		return r;
	struct dp_route *all = NULL;
	int n = datapath_read_routes(f->dp, &all);
	for (int i = 0; i < n; i++) {
		if (all[i].id != id)
			continue;
		unsigned slot = f->n < TRACER_ROUTE_CACHE ? f->n++ : f->next++ % TRACER_ROUTE_CACHE;
		f->cache[slot].id = id;
		route_template(all[i].path, f->cache[slot].route, sizeof(f->cache[slot].route));
		r = f->cache[slot].route;
		break;
	}
	free(all);
	return r;
}

void tracer_feed_event(void *arg, const struct obsbpf_http_event *e)
{
	struct tracer_feed *f = arg;
	if (!f->t || e->trace.origin == OBSBPF_TO_NONE)
		return;
	/* Unsampled events only count: no lookup for them. Client spans carry no http.route, but
	 * their url.full has the path. */
	bool need = e->trace.flags & OBSBPF_TRACE_SAMPLED;
	tracer_add(f->t, e, &f->res, need ? route_of(f, e->route_id) : NULL);
}
