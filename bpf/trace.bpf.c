// SPDX-License-Identifier: GPL-2.0
/* In-process trace propagation and the trace header classifier shared by sk_msg and tc.
 * tp_btf/sock_recv_length fires when a thread returns from recvmsg: if it just read a request
 * that tc timed on a server connection, the thread is now serving that request's server span,
 * and sk_msg continues its trace in the requests the thread sends next. */
#include "tls.bpf.h"
#include "trace.bpf.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

const volatile __u32 obsbpf_cfg_thread_hash = 0;

/* A global subprogram, verified once: tc calls it from its per-byte head loop and sk_msg from
 * its per-line loop; inlined there, it would be verified at every iteration. */
__noinline int obsbpf_trace_line(struct trace_line *l, __u32 linelen, __u32 props, struct trace_found *f)
{
	if (!l || !f)
		return 0;
	classify_trace_line(l, linelen, props, f);
	return 0;
}

#define EAGAIN		     11
#define MSG_DONTWAIT	     0x40
#define MAX_SCHEDULE_TIMEOUT 0x7fffffffffffffffl /* SO_RCVTIMEO unset: wait for ever */

/* A read that failed with EAGAIN. On a blocking socket without a receive timeout TCP never
 * returns it, tcp_bpf does when woken without data (docs/kernel.md): counted for the pod's
 * client connections still in pod_socks. Only the error path pays for this. */
static __always_inline void count_eagain(struct sock *sk, int flags)
{
	if ((flags & MSG_DONTWAIT) || BPF_CORE_READ(sk, sk_rcvtimeo) != MAX_SCHEDULE_TIMEOUT)
		return;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, 0);
	if (c && c->dir == OBSBPF_DIR_CLIENT && c->released != OBSBPF_RELEASE_DONE)
		stat_inc(OBSBPF_ST_RECV_EAGAIN);
}

/* A thread returned from reading ret bytes from sk (flags: recvmsg's, MSG_DONTWAIT for a
 * non-blocking socket). */
static __always_inline int on_recv(struct sock *sk, int ret, int flags)
{
	/* This runs on every recvmsg of the node: a socket with no BPF storage at all (not a pod
	 * socket) is turned away with one load instead of a storage lookup. */
	if (!sk || !BPF_CORE_READ(sk, sk_bpf_storage))
		return 0;
	if (ret == -EAGAIN) {
		count_eagain(sk, flags);
		return 0;
	}
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, 0);
	if (!c)
		return 0;
	/* A failed read (a reset) inside SSL_read ties too: the close event then names the SSL *
	 * of a client that only sent before it (sk_msg had already let the socket go). */
	if (c->proto == OBSBPF_PROTO_TLS) {
		__u64 ssl = c->tls_ssl;
		obsbpf_tls_tie(c); /* read inside SSL_read: its SSL * is this connection */
		/* A reset closes the socket before the app reads: the close event named no SSL *. */
		if (c->tls_close && c->tls_ssl != ssl)
			obsbpf_tls_closed(c, c->tls_close);
		return 0;
	}
	if (ret < 0)
		return 0;
	if (c->dir != OBSBPF_DIR_SERVER)
		return 0;
	/* HTTP/2: streams interleave, so the newest request tc saw is the one taken as read (a
	 * thread-per-connection server reads one at a time). */
	if (c->proto == OBSBPF_PROTO_HTTP2) {
		if (c->h2_trace.origin != OBSBPF_TO_NONE && ret > 0)
			serve_trace(&c->h2_trace);
		return 0;
	}
	__u32 tail = c->tail;
	if (tail == c->head || ret == 0) {
		/* The end of the connection, or bytes that are not a new request while none waits:
		 * the thread no longer serves a request from here. (Its response is seen by tc
		 * egress, outside the thread, so this is where a served trace ends.) */
		struct obsbpf_trace *t = served_trace();
		if (t)
			t->origin = OBSBPF_TO_NONE;
		return 0;
	}
	/* The newest request on the connection is the one just read (tc saw it arrive first). */
	struct obsbpf_pending *p = &c->q[(tail - 1) & (OBSBPF_PENDING - 1)];
	if (p->trace.origin == OBSBPF_TO_NONE)
		return 0;
	serve_trace(&p->trace);
	return 0;
}

/* The tracepoint (6.3+) fires when recvmsg returns. */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(obsbpf_recv, struct sock *sk, int ret, int flags)
{
	return on_recv(sk, ret, flags);
}

/* Before 6.3: the same at the return of tcp_recvmsg, where the kernel has fentry/fexit (Debian's
 * 6.1 does; some hosts refuse them). Loaded only where the tracepoint is missing. */
SEC("fexit/tcp_recvmsg")
int BPF_PROG(obsbpf_recv_fexit, struct sock *sk, struct msghdr *msg, size_t len, int flags, int *addr_len,
	     int ret)
{
	return on_recv(sk, ret, flags);
}

char LICENSE[] SEC("license") = "GPL";
