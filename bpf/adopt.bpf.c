// SPDX-License-Identifier: GPL-2.0
/* Connections established before attach: an iterator over the TCP sockets of one network
 * namespace (the agent creates it inside each pod's as it attaches, user/bpf/adopt.c) gives
 * every established socket of the pod that sockops never saw its conn_state, and puts client
 * ones into pod_socks, so that a keep-alive connection or a pool opened earlier is measured and
 * traced from its next request.
 *
 * The kernel walks the listening sockets before the established ones: a connection whose local
 * port a socket of this namespace listens on was accepted (the pod serves it); any other was
 * connected (the pod is its client). A client connection with bytes in flight (sent and not
 * acknowledged, or received and not read) may be inside a message: it is left alone (counted).
 * One found idle may still be between a request's head and its body (Expect: 100-continue), so
 * nothing is inserted on it until a request sk_msg parsed there has been answered. */
#include "conn_init.bpf.h"
#include <bpf/bpf_core_read.h>

#define TCP_ESTABLISHED_ 1
#define TCP_LISTEN_	 10

/* The ports listened on in the namespace being walked; user space clears it before each walk. */
__u64 adopt_listen[65536 / 64];

static __always_inline void skc_addrs(struct sock_common *skc, struct obsbpf_addrs *a)
{
	__u16 family = BPF_CORE_READ(skc, skc_family);
	a->family = family;
	a->local_port = BPF_CORE_READ(skc, skc_num);
	a->remote_port = __builtin_bswap16(BPF_CORE_READ(skc, skc_dport));
	if (family == AF_INET) {
		__u32 l = BPF_CORE_READ(skc, skc_rcv_saddr), r = BPF_CORE_READ(skc, skc_daddr);
		__builtin_memcpy(a->local, &l, 4);
		__builtin_memcpy(a->remote, &r, 4);
		return;
	}
	BPF_CORE_READ_INTO(&a->local, skc, skc_v6_rcv_saddr.in6_u.u6_addr8);
	BPF_CORE_READ_INTO(&a->remote, skc, skc_v6_daddr.in6_u.u6_addr8);
}

SEC("iter/tcp")
int obsbpf_adopt(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp = skc ? bpf_skc_to_tcp_sock(skc) : NULL;
	if (!tp)
		return 0;
	__u8 state = BPF_CORE_READ(skc, skc_state);
	__u16 port = BPF_CORE_READ(skc, skc_num);
	if (state == TCP_LISTEN_) {
		adopt_listen[(port >> 6) & 1023] |= 1ull << (port & 63);
		return 0;
	}
	if (state != TCP_ESTABLISHED_)
		return 0;
	struct sock *sk = (struct sock *)tp;
	if (bpf_sk_storage_get(&conn_state, sk, 0, 0))
		return 0; /* sockops saw it */
	__u32 pod_id;
	if (pod_of_tcp(tp, &pod_id) < 0)
		return 0;
	struct obsbpf_addrs addrs = {};
	skc_addrs(skc, &addrs);
	__u8 dir = adopt_listen[(port >> 6) & 1023] & (1ull << (port & 63)) ? OBSBPF_DIR_SERVER
									    : OBSBPF_DIR_CLIENT;
	if (dir == OBSBPF_DIR_SERVER && from_agent(&addrs))
		return 0;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c)
		return 0;
	__u32 rcv_nxt = BPF_CORE_READ(tp, rcv_nxt), write_seq = BPF_CORE_READ(tp, write_seq);
	conn_init(c, pod_id, dir, &addrs, bpf_get_socket_cookie(sk), rcv_nxt, write_seq);
	if (dir == OBSBPF_DIR_SERVER) {
		stat_inc(OBSBPF_ST_ADOPTED_SERVER);
		return 0;
	}
	if (BPF_CORE_READ(tp, snd_una) != write_seq || BPF_CORE_READ(tp, copied_seq) != rcv_nxt) {
		c->proto = OBSBPF_PROTO_OTHER; /* tc leaves it alone too */
		c->released = OBSBPF_RELEASE_DONE;
		stat_inc(OBSBPF_ST_ADOPT_BUSY);
		return 0;
	}
	c->adopted = 1;
	__u64 cookie = c->cookie;
	if (bpf_map_update_elem(&pod_socks, &cookie, sk, BPF_NOEXIST) < 0) {
		conn_untracked(c);
		return 0;
	}
	stat_inc(OBSBPF_ST_ADOPTED_CLIENT);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
