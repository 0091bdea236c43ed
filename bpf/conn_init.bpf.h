/* SPDX-License-Identifier: GPL-2.0 */
/* A connection's first state, wherever it is found: sockops when it reaches ESTABLISHED, the
 * adopt iterator (bpf/adopt.bpf.c) for one established before attach. */
#ifndef OBSBPF_CONN_INIT_BPF_H
#define OBSBPF_CONN_INIT_BPF_H

#include "conn.bpf.h"
#include "trace.bpf.h"
#include <bpf/bpf_core_read.h>

#define MAX_CGROUP_DEPTH 16
#ifndef AF_INET
#define AF_INET 2
#endif

/* The socket's cgroup may be a container cgroup below the pod's: walk up to the pod.
 * Parents are followed through cgroup.self.parent (cgroup_subsys_state is cgroup's first
 * member), which every kernel with cgroup v2 has, unlike cgroup->ancestors[] (6.1+). */
static __always_inline int pod_of_tcp(struct tcp_sock *tp, __u32 *pod_id)
{
	struct cgroup *cg = BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.sk_cgrp_data.cgroup);
	for (int i = 0; i < MAX_CGROUP_DEPTH && cg; i++) {
		__u64 id = BPF_CORE_READ(cg, kn, id);
		__u32 *p = bpf_map_lookup_elem(&pods, &id);
		if (p) {
			*pod_id = *p;
			return 0;
		}
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	}
	return -1;
}

/* An accepted connection whose peer is one of the agent's own sockets in the pod's netns
 * (same address, a port the agent registered): the agent scraping or probing the app. */
static __always_inline int from_agent(const struct obsbpf_addrs *a)
{
	const __u32 *l = (const __u32 *)a->local, *r = (const __u32 *)a->remote;
	if (l[0] != r[0] || l[1] != r[1] || l[2] != r[2] || l[3] != r[3])
		return 0;
	__u16 port = a->remote_port;
	return bpf_map_lookup_elem(&agent_ports, &port) != NULL;
}

/* Whether requests to the peer may carry injected trace headers (--inject-to). Decided once per
 * connection, here, rather than per request. */
static __always_inline __u8 peer_may_inject(const struct obsbpf_addrs *a)
{
	struct obsbpf_cidr_key k = { .prefixlen = 128 };
	if (a->family == AF_INET) {
		k.addr[10] = 0xff;
		k.addr[11] = 0xff;
		__builtin_memcpy(&k.addr[12], a->remote, 4);
	} else {
		__builtin_memcpy(k.addr, a->remote, 16);
	}
	return bpf_map_lookup_elem(&inject_to, &k) != NULL;
}

/* rcv_nxt, snd_nxt: where the stream's next received and sent bytes start; the next send
 * starts a message (sk_msg parses it). */
static __always_inline void conn_init(struct obsbpf_conn *c, __u32 pod_id, __u8 dir,
				      const struct obsbpf_addrs *a, __u64 cookie, __u32 rcv_nxt,
				      __u32 snd_nxt)
{
	c->pod_id = pod_id;
	c->dir = dir;
	c->proto = OBSBPF_PROTO_UNKNOWN;
	c->head = c->tail = 0;
	c->rx_seq_valid = 0;
	c->route.valid = 0;
	c->tx_seq_valid = 0;
	c->rx_first_seq = rcv_nxt;
	c->tx_first_seq = snd_nxt;
	c->cookie = cookie;
	c->addrs = *a;
	c->at_boundary = 1;
	c->msg_next_seq = snd_nxt;
	c->msg_wait = 0;
	c->in_chunked = 0;
	c->may_inject = dir == OBSBPF_DIR_CLIENT && peer_may_inject(a);
	c->release = OBSBPF_REL_NONE;
	c->released = OBSBPF_RELEASE_NO;
	c->adopted = 0;
}

/* The sockhash is full (--max-connections): sk_msg will not see this connection's requests, so
 * tc leaves its responses alone too. */
static __always_inline void conn_untracked(struct obsbpf_conn *c)
{
	c->proto = OBSBPF_PROTO_OTHER;
	c->released = OBSBPF_RELEASE_DONE; /* nothing to release */
	stat_inc(OBSBPF_ST_CONN_UNTRACKED);
}

#endif
