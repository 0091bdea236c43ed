// SPDX-License-Identifier: GPL-2.0
/* The release pass, where the sk_skb verdict of the FIONREAD fallback is attached: an iterator
 * over the TCP sockets of one network namespace (the agent creates it inside a pod's), which takes
 * out of pod_socks the client connections whose sk_msg asked to leave (bpf/msg.bpf.c:
 * obsbpf_msg_release). Without that verdict the agent takes them out by cookie at once
 * (user/bpf/release.c): the psock then holds nothing the socket received.
 *
 * With the verdict, every received byte waits in the psock's ingress queue until read, and
 * freeing the psock drops it; a reader asleep in tcp_bpf_recvmsg_parser when the verdict goes
 * would get EAGAIN at the next byte. The kernel's TCP iterator holds each socket's lock
 * (lock_sock) while this program runs on it: nothing the socket receives reaches the psock
 * meanwhile, and no recvmsg or sendmsg runs. A connection leaves only when its psock queues
 * nothing, its backlog worker is idle, and nobody waits on it but writers (docs/kernel.md); one
 * that cannot go yet is written as one byte to the iterator's output: the agent counts them and
 * runs the pass again later. */
#include "conn.bpf.h"
#include <bpf/bpf_core_read.h>

/* sk_user_data's low bits are flags (SK_USER_DATA_NOCOPY, _BPF, _PSOCK), not address. */
#define SK_USER_DATA_FLAGS 7ul
#define WAITERS_MAX	   4

/* Before 6.5 (commit "bpf, sockmap: Reschedule is now done through backlog") the backlog
 * worker kept the skb it was sending here, out of ingress_skb. */
struct sk_psock_work_state___skb {
	struct sk_buff *skb;
} __attribute__((preserve_access_index));

/* sk_wait_event's waits (a reader in tcp_msg_wait_data, a writer in sk_stream_wait_memory) wake
 * through it; epoll and poll entries do not (ep_poll_callback, pollwake). Resolved by libbpf
 * from /proc/kallsyms; 0 where it cannot read the address: then every entry counts. */
extern const void woken_wake_function __ksym __weak;

/* Entries on a wait queue, up to WAITERS_MAX + 1; tasks only: the entries that wake through
 * woken_wake_function, when it is known. */
static __always_inline int waiters(struct list_head *head, int tasks_only)
{
	struct list_head *e = BPF_CORE_READ(head, next);
	int n = 0, i;
	for (i = 0; i < 2 * WAITERS_MAX && e && e != head; i++) {
		struct wait_queue_entry *w =
			(void *)e - bpf_core_field_offset(struct wait_queue_entry, entry);
		if (!tasks_only || !&woken_wake_function ||
		    (void *)BPF_CORE_READ(w, func) == &woken_wake_function)
			n++;
		e = BPF_CORE_READ(e, next);
	}
	return e == head && n <= WAITERS_MAX ? n : WAITERS_MAX + 1;
}

/* Whether sk can leave its sockmap now without losing a byte or failing a read: its psock holds
 * nothing received, nothing is on its way into it, nobody waits for its lock, and every task
 * asleep on it is a writer waiting for send buffer (sk_stream_wait_memory counts them in
 * sk_write_pending): a writer's send goes on through the psock it holds. An epoll or poll entry
 * is no task inside recvmsg: after the release the data wakes it as before. */
static __always_inline int psock_quiet(struct sock *sk)
{
	unsigned long ud = (unsigned long)BPF_CORE_READ(sk, sk_user_data);
	struct sk_psock *ps = (struct sk_psock *)(ud & ~SK_USER_DATA_FLAGS);
	if (!ps)
		return 1;
	/* ingress_skb first: the worker puts an skb into ingress_msg before it takes it off there. */
	if (BPF_CORE_READ(ps, ingress_skb.qlen))
		return 0;
	if (BPF_CORE_READ(ps, ingress_msg.next) != &ps->ingress_msg)
		return 0;
	if (!bpf_core_field_exists(ps->work_mutex.owner) || BPF_CORE_READ(ps, work_mutex.owner.counter))
		return 0;
	if (bpf_core_field_exists(struct sk_psock_work_state___skb, skb)) {
		struct sk_psock_work_state___skb *ws = (void *)&ps->work_state;
		if (BPF_CORE_READ(ws, skb))
			return 0;
	}
	/* A task waiting for the lock may be a reader already inside tcp_bpf_recvmsg_parser. */
	if (waiters(&sk->sk_lock.wq.head, 0))
		return 0;
	struct socket_wq *wq = BPF_CORE_READ(sk, sk_wq);
	int n = wq ? waiters(&wq->wait.head, 1) : 0;
	return n <= WAITERS_MAX && n == BPF_CORE_READ(sk, sk_write_pending);
}

SEC("iter/tcp")
int obsbpf_release(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp = skc ? bpf_skc_to_tcp_sock(skc) : NULL;
	if (!tp)
		return 0;
	struct sock *sk = (struct sock *)tp;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, 0);
	if (!c || c->released != OBSBPF_RELEASE_ASKED)
		return 0;
	if (!psock_quiet(sk)) {
		__u8 wait = 1;
		bpf_seq_write(ctx->meta->seq, &wait, 1);
		return 0;
	}
	__u64 cookie = c->cookie;
	/* ENOENT: it left already (closed, or the map was freed). */
	long err = bpf_map_delete_elem(&pod_socks, &cookie);
	c->released = OBSBPF_RELEASE_DONE;
	__u32 why = c->release;
	if (!err && why > OBSBPF_REL_NONE && why < OBSBPF_REL_MAX)
		stat_inc(OBSBPF_ST_RELEASED_TLS + why - OBSBPF_REL_TLS);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
