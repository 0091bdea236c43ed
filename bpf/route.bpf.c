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

__noinline __u32 obsbpf_route_intern(struct obsbpf_line *line, __u32 len, __u32 target)
{
	struct route_walk w = {};
	if (!line)
		return OBSBPF_ROUTE_OVERFLOW;
	w.line = line;
	w.len = len > OBSBPF_LINE_BUF ? OBSBPF_LINE_BUF : len;
	w.start = target;
	obsbpf_route_init(&w.st);
	bpf_loop(OBSBPF_ROUTE_LEN - 1, route_byte, &w, 0);
	w.r.path[w.n & (OBSBPF_ROUTE_LEN - 1)] = '\0';

	__u32 id = obsbpf_route_final(&w.st);
	if (bpf_map_lookup_elem(&routes, &id))
		return id;
	if (bpf_map_update_elem(&routes, &id, &w.r, BPF_NOEXIST) == 0)
		return id;
	/* Lost a race to another CPU inserting the same id, or the table is full. */
	return bpf_map_lookup_elem(&routes, &id) ? id : OBSBPF_ROUTE_OVERFLOW;
}

char LICENSE[] SEC("license") = "GPL";
