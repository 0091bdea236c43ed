// SPDX-License-Identifier: GPL-2.0
/* Reading the maps back for /metrics and /status: counters, histograms, routes, programs and
 * fill levels; and forgetting a pod's series. */
#include "datapath_priv.h"
#include "sockpin.h"

#include "util/array.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Deletes the series of pod_id from a map keyed by struct obsbpf_hist_key. Keys are collected
 * first: deleting the key a get_next_key walk stands on restarts the walk. */
static void forget_series(int fd, uint32_t pod_id)
{
	struct obsbpf_hist_key key, next, *del = NULL;
	size_t n = 0, cap = 0;
	for (int r = bpf_map_get_next_key(fd, NULL, &next); r == 0;
	     r = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (key.pod_id != pod_id)
			continue;
		if (!array_grow((void **)&del, &cap, n + 1, sizeof(*del)))
			break;
		del[n++] = key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &del[i]);
	free(del);
}

/* The pod's histogram and service graph series go with it (a later pod never inherits them). */
void dp_forget_pod_series(struct datapath *dp, uint32_t pod_id)
{
	forget_series(bpf_map__fd(dp->skel->maps.http_hist), pod_id);
	forget_series(bpf_map__fd(dp->skel->maps.graph_hist), pod_id);
}

int datapath_read_stats(struct datapath *dp, uint64_t stats[OBSBPF_ST_MAX])
{
	int fd = bpf_map__fd(dp->skel->maps.stats);
	uint64_t *percpu = calloc((size_t)dp->ncpus, sizeof(uint64_t));
	if (!percpu)
		return -ENOMEM;
	for (uint32_t k = 0; k < OBSBPF_ST_MAX; k++) {
		stats[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, percpu) == 0)
			for (int c = 0; c < dp->ncpus; c++)
				stats[k] += percpu[c];
	}
	/* Connections taken out of the sockhash by cookie count with the iterator's (release.c). */
	for (int r = 0; r < OBSBPF_REL_MAX - OBSBPF_REL_TLS; r++)
		stats[OBSBPF_ST_RELEASED_TLS + r] += dp->released[r];
	free(percpu);
	return 0;
}

/* Every series of a per-CPU map of obsbpf_hist_key -> obsbpf_hist_val, summed over CPUs. */
static int read_hist_map(struct datapath *dp, int fd, struct dp_hist_entry **out)
{
	size_t cap = 64, n = 0;
	struct dp_hist_entry *v = malloc(cap * sizeof(*v));
	struct obsbpf_hist_val *percpu = calloc((size_t)dp->ncpus, sizeof(*percpu));
	struct obsbpf_hist_key key, next;
	int err = 0;
	if (!v || !percpu) {
		err = -ENOMEM;
		goto out;
	}
	for (int r = bpf_map_get_next_key(fd, NULL, &next); r == 0;
	     r = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (bpf_map_lookup_elem(fd, &key, percpu))
			continue; /* deleted meanwhile */
		if (n == cap) {
			struct dp_hist_entry *nv = realloc(v, 2 * cap * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				goto out;
			}
			v = nv;
			cap *= 2;
		}
		struct dp_hist_entry *e = &v[n++];
		memset(e, 0, sizeof(*e));
		e->key = key;
		for (int c = 0; c < dp->ncpus; c++) {
			e->val.count += percpu[c].count;
			e->val.sum_ns += percpu[c].sum_ns;
			for (int b = 0; b < OBSBPF_HIST_BUCKETS; b++)
				e->val.buckets[b] += percpu[c].buckets[b];
		}
	}
out:
	free(percpu);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	return (int)n;
}

int datapath_read_hist(struct datapath *dp, struct dp_hist_entry **out)
{
	return read_hist_map(dp, bpf_map__fd(dp->skel->maps.http_hist), out);
}

int datapath_read_graph(struct datapath *dp, struct dp_hist_entry **out)
{
	return read_hist_map(dp, bpf_map__fd(dp->skel->maps.graph_hist), out);
}

int datapath_read_routes(struct datapath *dp, struct dp_route **out)
{
	int fd = bpf_map__fd(dp->skel->maps.routes);
	struct dp_route *v = calloc(dp->max_routes + 1, sizeof(*v));
	uint32_t key, next;
	size_t n = 0;
	if (!v)
		return -ENOMEM;
	for (int r = bpf_map_get_next_key(fd, NULL, &next); r == 0 && n < dp->max_routes;
	     r = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		struct obsbpf_route val;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		v[n].id = key;
		memcpy(v[n].path, val.path, sizeof(v[n].path));
		v[n].path[OBSBPF_ROUTE_LEN - 1] = '\0';
		n++;
	}
	*out = v;
	return (int)n;
}

int datapath_programs(const struct datapath *dp, struct dp_prog *out, int max)
{
	struct bpf_program *prog;
	int n = 0;
	bpf_object__for_each_program(prog, dp->skel->obj)
	{
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(prog);
		if (n == max || fd < 0)
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_program__name(prog));
		out[n].id = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
		out[n].type = bpf_program__type(prog);
		out[n].where[0] = '\0';
		if ((prog == dp->skel->progs.obsbpf_msg || prog == dp->skel->progs.obsbpf_skb_pass) &&
		    dp->msg_attached)
			snprintf(out[n].where, sizeof(out[n].where), "sockhash pod_socks");
		else if (prog == dp->recv && dp->recv_link)
			snprintf(out[n].where, sizeof(out[n].where), "%s", bpf_program__section_name(prog));
		n++;
	}
	return n;
}

/* Bytes written but not yet consumed: the ring's producer and consumer positions live in the
 * first two pages of the map's mmap area (libbpf 1.1 has no ring__avail_data_size). */
static long ringbuf_used(const struct bpf_map *m)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = bpf_map__fd(m);
	void *cons = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	void *prod = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, page);
	long used = -1;
	if (cons != MAP_FAILED && prod != MAP_FAILED)
		used = (long)(__atomic_load_n((unsigned long *)prod, __ATOMIC_ACQUIRE) -
			      __atomic_load_n((unsigned long *)cons, __ATOMIC_ACQUIRE));
	if (cons != MAP_FAILED)
		munmap(cons, (size_t)page);
	if (prod != MAP_FAILED)
		munmap(prod, (size_t)page);
	return used;
}

int datapath_map_usage(const struct datapath *dp, struct dp_map_usage *out, int max)
{
	const struct obsbpf_bpf *s = dp->skel;
	const struct bpf_map *counted[] = { s->maps.pods,	s->maps.pod_socks, s->maps.http_hist,
					    s->maps.graph_hist, s->maps.routes,	   s->maps.agent_ports };
	int n = 0;
	memset(out, 0, (size_t)max * sizeof(*out));
	for (size_t i = 0; i < sizeof(counted) / sizeof(counted[0]) && n < max; i++, n++) {
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_map__name(counted[i]));
		out[n].used = map_count_keys(bpf_map__fd(counted[i]));
		out[n].max = bpf_map__max_entries(counted[i]);
	}
	if (n < max) { /* sk_storage cannot be walked from user space */
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_map__name(s->maps.conn_state));
		out[n].used = -1;
		out[n].max = 0;
		n++;
	}
	if (n < max) {
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_map__name(s->maps.http_events));
		out[n].used = ringbuf_used(s->maps.http_events);
		out[n].max = bpf_map__max_entries(s->maps.http_events);
		out[n].bytes = true;
		n++;
	}
	return n;
}
