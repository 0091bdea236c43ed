// SPDX-License-Identifier: GPL-2.0
/* sockops on the pod's cgroup: every TCP connection of the pod that reaches ESTABLISHED gets its
 * conn_state, client connections are put into pod_socks (so sk_msg runs on their sends); closes
 * are counted. */
#include "conn.bpf.h"
#include "h2.bpf.h"
#include "tls.bpf.h"
#include "trace.bpf.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define MAX_CGROUP_DEPTH 16
#define AF_INET		 2

/* Forces a ctx load to happen here: clang otherwise merges ctx loads behind a computed
 * pointer, which the verifier rejects ("dereference of modified ctx ptr"). */
#define CTX(x)                                \
	({                                    \
		__u32 __v = (x);              \
		asm volatile("" : "+r"(__v)); \
		__v;                          \
	})

static __always_inline void conn_addrs(struct bpf_sock_ops *s, struct obsbpf_addrs *a)
{
	__u32 family = CTX(s->family);
	a->family = (__u16)family;
	a->local_port = (__u16)CTX(s->local_port);
	a->remote_port = (__u16)bpf_ntohl(CTX(s->remote_port));
	if (family == AF_INET) {
		__u32 l = CTX(s->local_ip4), r = CTX(s->remote_ip4);
		__builtin_memcpy(a->local, &l, 4);
		__builtin_memcpy(a->remote, &r, 4);
		return;
	}
	__u32 l[4] = { CTX(s->local_ip6[0]), CTX(s->local_ip6[1]), CTX(s->local_ip6[2]),
		       CTX(s->local_ip6[3]) };
	__u32 r[4] = { CTX(s->remote_ip6[0]), CTX(s->remote_ip6[1]), CTX(s->remote_ip6[2]),
		       CTX(s->remote_ip6[3]) };
	__builtin_memcpy(a->local, l, 16);
	__builtin_memcpy(a->remote, r, 16);
}

/* The socket's cgroup may be a container cgroup below the pod's: walk up to the pod.
 * Parents are followed through cgroup.self.parent (cgroup_subsys_state is cgroup's first
 * member), which every kernel with cgroup v2 has, unlike cgroup->ancestors[] (6.1+). */
static __always_inline int pod_of_socket(struct bpf_sock *bsk, __u32 *pod_id)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp)
		return -1;
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

static __always_inline void on_established(struct bpf_sock_ops *skops, __u8 dir)
{
	struct bpf_sock *bsk = skops->sk;
	struct obsbpf_addrs addrs = {};
	__u32 pod_id;

	if (!bsk || pod_of_socket(bsk, &pod_id) < 0)
		return;
	conn_addrs(skops, &addrs);
	if (dir == OBSBPF_DIR_SERVER && from_agent(&addrs))
		return;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, bsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c)
		return;
	c->pod_id = pod_id;
	c->dir = dir;
	c->proto = OBSBPF_PROTO_UNKNOWN;
	c->head = c->tail = 0;
	c->rx_seq_valid = 0;
	c->route.valid = 0;
	c->tx_seq_valid = 0;
	c->rx_first_seq = CTX(skops->rcv_nxt);
	c->tx_first_seq = CTX(skops->snd_nxt);
	c->cookie = bpf_get_socket_cookie(skops);
	c->addrs = addrs;
	/* The stream's first send starts a message: sk_msg parses it. */
	c->at_boundary = 1;
	c->msg_next_seq = CTX(skops->snd_nxt);
	c->msg_wait = 0;
	c->in_chunked = 0;
	c->may_inject = dir == OBSBPF_DIR_CLIENT && peer_may_inject(&addrs);
	c->release = OBSBPF_REL_NONE;
	c->released = OBSBPF_RELEASE_NO;
	/* Only client sockets go into the sockhash, for sk_msg to time and trace their requests;
	 * a server socket's responses are seen by tc egress, without sk_msg's send path. */
	if (dir == OBSBPF_DIR_CLIENT) {
		__u64 cookie = c->cookie;
		if (bpf_sock_hash_update(skops, &pod_socks, &cookie, BPF_NOEXIST) < 0) {
			/* The sockhash is full (--max-connections): sk_msg will not see this
			 * connection's requests, so tc leaves its responses alone too. */
			c->proto = OBSBPF_PROTO_OTHER;
			c->released = OBSBPF_RELEASE_DONE; /* nothing to release */
			stat_inc(OBSBPF_ST_CONN_UNTRACKED);
		}
	}
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
	stat_inc(dir == OBSBPF_DIR_SERVER ? OBSBPF_ST_CONN_OPEN_SERVER : OBSBPF_ST_CONN_OPEN_CLIENT);
}

static __always_inline void on_state(struct bpf_sock_ops *skops)
{
	/* args[1] is the new state; count each connection once, when it reaches CLOSE. */
	struct bpf_sock *sk = skops->sk;
	if (skops->args[1] != BPF_TCP_CLOSE || !sk)
		return;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, 0);
	if (!c)
		return;
	stat_inc(c->dir == OBSBPF_DIR_SERVER ? OBSBPF_ST_CONN_CLOSE_SERVER : OBSBPF_ST_CONN_CLOSE_CLIENT);
	if (c->proto == OBSBPF_PROTO_HTTP2)
		obsbpf_h2_closed(c); /* user space frees its state */
	else if (c->proto == OBSBPF_PROTO_TLS)
		obsbpf_tls_closed(c);
}

SEC("sockops")
int obsbpf_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		on_established(skops, OBSBPF_DIR_SERVER);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		on_established(skops, OBSBPF_DIR_CLIENT);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		on_state(skops);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
