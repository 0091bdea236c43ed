// SPDX-License-Identifier: GPL-2.0
/* sockops on the pod's cgroup: every TCP connection of the pod that reaches ESTABLISHED gets its
 * conn_state, client connections are put into pod_socks (so sk_msg runs on their sends); closes
 * are counted, and the HTTP/1 requests a close leaves unanswered are recorded. */
#include "conn.bpf.h"
#include "conn_init.bpf.h"
#include "h2.bpf.h"
#include "record.bpf.h"
#include "tls.bpf.h"
#include "trace.bpf.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define AF_INET	  2
#define ETIMEDOUT 110

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

static __always_inline void on_established(struct bpf_sock_ops *skops, __u8 dir)
{
	struct bpf_sock *bsk = skops->sk;
	struct obsbpf_addrs addrs = {};
	__u32 pod_id;

	struct tcp_sock *tp = bsk ? bpf_skc_to_tcp_sock(bsk) : NULL;
	if (!tp || pod_of_tcp(tp, &pod_id) < 0)
		return;
	conn_addrs(skops, &addrs);
	if (dir == OBSBPF_DIR_SERVER && from_agent(&addrs))
		return;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, bsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c)
		return;
	conn_init(c, pod_id, dir, &addrs, bpf_get_socket_cookie(skops), CTX(skops->rcv_nxt),
		  CTX(skops->snd_nxt));
	/* Only client sockets go into the sockhash, for sk_msg to time and trace their requests;
	 * a server socket's responses are seen by tc egress, without sk_msg's send path. */
	if (dir == OBSBPF_DIR_CLIENT) {
		__u64 cookie = c->cookie;
		if (bpf_sock_hash_update(skops, &pod_socks, &cookie, BPF_NOEXIST) < 0)
			conn_untracked(c);
	}
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
	stat_inc(dir == OBSBPF_DIR_SERVER ? OBSBPF_ST_CONN_OPEN_SERVER : OBSBPF_ST_CONN_OPEN_CLIENT);
}

/* Why a request got no response, from how its connection reached TCP_CLOSE, on the pod's side
 * (old: the state it left; err: sk_err). Linux (net/ipv4/tcp*.c) gets there:
 * - from FIN_WAIT1, FIN_WAIT2 or CLOSING when the pod sent its FIN first: tcp_time_wait() ends
 *   the full socket with tcp_done(). The pod gave up; a reset the peer sends after that (or
 *   tcp_reset() on data arriving after close()) does not change that, so this comes first.
 * - through tcp_reset() on a RST: it writes sk_err (ECONNRESET, EPIPE in CLOSE_WAIT) before
 *   tcp_done(). ETIMEDOUT: tcp_write_err(), the kernel gave up retransmitting or probing.
 * - from LAST_ACK (or CLOSE_WAIT, the pod aborting then) when the peer's FIN came first.
 * - from ESTABLISHED without an error when the pod aborted: close() with unread data, or
 *   SO_LINGER 0 (tcp_disconnect() sets CLOSE before its sk_err). */
static __always_inline __u32 no_response_reason(__u32 old, int err)
{
	switch (old) {
	case BPF_TCP_FIN_WAIT1:
	case BPF_TCP_FIN_WAIT2:
	case BPF_TCP_CLOSING:
	case BPF_TCP_TIME_WAIT:
		return OBSBPF_STATUS_TIMEOUT;
	}
	if (err == ETIMEDOUT)
		return OBSBPF_STATUS_TIMEOUT;
	if (err)
		return OBSBPF_STATUS_CONN_RESET;
	if (old == BPF_TCP_CLOSE_WAIT || old == BPF_TCP_LAST_ACK)
		return OBSBPF_STATUS_CONN_CLOSED;
	return OBSBPF_STATUS_TIMEOUT;
}

/* sk_err through the tcp_sock: struct bpf_sock_ops has no field for it. */
static __always_inline __u32 close_reason(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct tcp_sock *tp = sk ? bpf_skc_to_tcp_sock(sk) : NULL;
	int err = tp ? BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.sk_err) : 0;
	return no_response_reason((__u32)skops->args[0], err);
}

/* The HTTP/1 requests still in the FIFO at the close never got a response: each is recorded,
 * timed to the close, with the reason as its status. Requests sk_msg did not parse whole
 * (OBSBPF_M_UNSEEN) were never going to be recorded. */
static __always_inline void record_unanswered(struct bpf_sock_ops *skops, struct obsbpf_conn *c)
{
	if (c->head == c->tail)
		return;
	__u32 reason = close_reason(skops);
	__u64 now = bpf_ktime_get_ns();
	struct obsbpf_pending p;
	for (int i = 0; i < OBSBPF_PENDING; i++) {
		if (pending_pop(c, &p) < 0)
			break;
		if (p.method != OBSBPF_M_UNSEEN)
			obsbpf_record(c, &p, now, reason, &c->addrs);
	}
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
	if (c->proto == OBSBPF_PROTO_HTTP1)
		record_unanswered(skops, c);
	else if (c->proto == OBSBPF_PROTO_HTTP2) /* user space ends its open streams, frees its state */
		obsbpf_h2_closed(c, close_reason(skops));
	else if (c->proto == OBSBPF_PROTO_TLS) { /* user space ends what its decoders left open */
		c->tls_close = close_reason(skops);
		obsbpf_tls_closed(c, c->tls_close);
	}
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
