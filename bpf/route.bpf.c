// SPDX-License-Identifier: GPL-2.0
/* http_route interning, shared by sk_msg (client requests) and tc (server requests).
 * The path is walked with bpf_loop: a plain loop over up to 63 bytes, with the segment
 * classification branches, makes the verifier explore too many states (1M insns). */
#include "conn.bpf.h"

struct route_walk {
	struct obsbpf_line *line;
	__u32 len;
	__u32 start;
	__u32 n; /* path bytes taken */
	struct obsbpf_route_state st;
	struct obsbpf_route r;
};

static int route_byte(__u32 i, struct route_walk *w)
{
	__u32 at = w->start + i;
	if (at >= w->len)
		return 1;
	__u8 c = w->line->b[OBSBPF_IDX(at)];
	if (obsbpf_route_end(c))
		return 1;
	w->r.path[i & (OBSBPF_ROUTE_LEN - 1)] = (char)c;
	w->n = i + 1;
	obsbpf_route_step(&w->st, c);
	return 0;
}

/* Whether the request's bytes from target on are those the cached route was read from. */
static __always_inline int route_cached(const struct obsbpf_line *line, __u32 target,
					const struct obsbpf_route_cache *rc)
{
	for (int k = 0; k < OBSBPF_ROUTE_CACHE_BYTES / 8; k++) {
		__u64 at = target + k * 8;
		__u64 x;
		/* Opaque, so that the bound is checked for this k in the register the load uses:
		 * clang 19 otherwise drops the checks it can prove and reads b[at0 + 8k] through
		 * the first one, beyond what the verifier knows. */
		OPAQUE(at);
		if (at > OBSBPF_LINE_BUF - 8)
			return 0;
		__builtin_memcpy(&x, &line->b[at], 8);
		if (x != rc->raw[k])
			return 0;
	}
	return 1;
}

/* The route id of the request in line (len bytes, its path at target). rc: the connection's
 * cache of its last route (keep-alive clients mostly repeat their path). */
__noinline __u32 obsbpf_route_intern(struct obsbpf_line *line, __u32 len, __u32 target,
				     struct obsbpf_route_cache *rc)
{
	struct route_walk w = {};
	if (!line)
		return OBSBPF_ROUTE_OVERFLOW;
	w.len = len > OBSBPF_LINE_BUF ? OBSBPF_LINE_BUF : len;
	/* Cached only where the compared bytes lie within the request. */
	int cacheable = rc && target + OBSBPF_ROUTE_CACHE_BYTES <= w.len;
	if (cacheable && rc->valid && route_cached(line, target, rc))
		return rc->id;
	w.line = line;
	w.start = target;
	obsbpf_route_init(&w.st);
	bpf_loop(OBSBPF_ROUTE_LEN - 1, route_byte, &w, 0);
	w.r.path[w.n & (OBSBPF_ROUTE_LEN - 1)] = '\0';

	__u32 id = obsbpf_route_final(&w.st);
	if (!bpf_map_lookup_elem(&routes, &id) && bpf_map_update_elem(&routes, &id, &w.r, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&routes, &id))
		return OBSBPF_ROUTE_OVERFLOW; /* the table is full (or lost a race and then filled) */
	/* The path ended within the compared bytes: the same bytes mean the same path. */
	if (cacheable && w.n < OBSBPF_ROUTE_CACHE_BYTES) {
		rc->valid = 0;
		for (int k = 0; k < OBSBPF_ROUTE_CACHE_BYTES / 8; k++) {
			__u64 at = target + k * 8;
			OPAQUE(at);
			if (at > OBSBPF_LINE_BUF - 8)
				return id;
			__builtin_memcpy(&rc->raw[k], &line->b[at], 8);
		}
		rc->id = id;
		rc->valid = 1;
	}
	return id;
}

char LICENSE[] SEC("license") = "GPL";
