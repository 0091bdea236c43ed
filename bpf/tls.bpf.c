// SPDX-License-Identifier: GPL-2.0
/* TLS at the library: uprobes on OpenSSL's SSL_write, SSL_write_ex, SSL_read and SSL_read_ex
 * (entry: what the call was given; return: how many bytes it moved) in the libraries the pod's
 * processes map. Each call that moved bytes becomes one event with its first plaintext bytes;
 * user space parses them as the socket hooks parse cleartext (user/tls/). Calls of processes
 * outside every attached pod (the library is shared by the node) return at once. A request the
 * pod reads gets its span context here and the reading thread is bound to it, so that the
 * thread's outgoing requests continue it (in-process propagation, as for cleartext).
 * Nothing is ever written: not to the plaintext, not to the ciphertext. */
#include "conn.bpf.h"
#include "text.bpf.h"
#include "trace.bpf.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define TLS_CGROUP_DEPTH 16
#define TLS_SCAN_MAX	 1024

/* The pod of the calling task: its cgroup, or one above it, is a pod's. */
static __always_inline int current_pod(__u32 *pod_id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	for (int i = 0; i < TLS_CGROUP_DEPTH && cg; i++) {
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

static __always_inline void pid_mark(__u32 tgid, __u32 flag)
{
	__u32 *f = bpf_map_lookup_elem(&tls_pids, &tgid);
	if (f) {
		if (!(*f & flag))
			__sync_fetch_and_or(f, flag);
		return;
	}
	bpf_map_update_elem(&tls_pids, &tgid, &flag, BPF_NOEXIST);
}

/* A call's entry: remembered for its return, for a thread of a pod's process. */
static __always_inline int call_entry(void *ssl, const void *buf, void *ex_len, __u32 op)
{
	__u32 pod_id;
	if (current_pod(&pod_id) < 0)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct obsbpf_tls_args a = {
		.ssl = (__u64)ssl,
		.buf = (__u64)buf,
		.ex_len = (__u64)ex_len,
		.ts_ns = bpf_ktime_get_ns(),
		.op = op,
		.pod_id = pod_id,
	};
	bpf_map_update_elem(&tls_args, &id, &a, BPF_ANY);
	pid_mark((__u32)(id >> 32), OBSBPF_TLS_PID_CALLS);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(obsbpf_ssl_write, void *ssl, const void *buf, int num)
{
	return call_entry(ssl, buf, NULL, OBSBPF_TLS_WRITE);
}

SEC("uprobe")
int BPF_KPROBE(obsbpf_ssl_write_ex, void *ssl, const void *buf, __u64 num, __u64 *written)
{
	return call_entry(ssl, buf, written, OBSBPF_TLS_WRITE);
}

SEC("uprobe")
int BPF_KPROBE(obsbpf_ssl_read, void *ssl, void *buf, int num)
{
	return call_entry(ssl, buf, NULL, OBSBPF_TLS_READ);
}

SEC("uprobe")
int BPF_KPROBE(obsbpf_ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return call_entry(ssl, buf, readbytes, OBSBPF_TLS_READ);
}

/* A request's head, copied out of the process for the traceparent scan. Per CPU: a kprobe-type
 * program does not nest on a CPU (bpf_prog_active), and nothing else uses this map. */
struct tls_buf {
	__u8 b[TLS_SCAN_MAX];
	__u8 slack[TRACE_LINE_BUF];
	__u32 n;
	__u32 found;
	struct trace_found f;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tls_buf);
} tls_scratch SEC(".maps");

static __always_inline struct tls_buf *tls_scratch_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&tls_scratch, &zero);
}

/* The header line starting at s: a traceparent? The shared classifier (W3C only here). A
 * global subprogram: verified once. */
__noinline int obsbpf_tls_line(struct tls_buf *buf, __u32 s, __u32 linelen)
{
	if (!buf || s >= TLS_SCAN_MAX)
		return 0;
	obsbpf_trace_line((struct trace_line *)&buf->b[s], linelen, OBSBPF_PROP_W3C, &buf->f);
	return 0;
}

/* bpf_loop callback: eight bytes a step, to each line end; the lines after the request line
 * go to the classifier, up to the head's end. */
static int tls_scan_word(__u32 w, void *unused)
{
	struct tls_buf *buf = tls_scratch_get();
	if (!buf)
		return 1;
	__u32 at = w * 8, n = buf->n;
	if (at >= TLS_SCAN_MAX - 7 || at >= n)
		return 1;
	__u64 x;
	__builtin_memcpy(&x, &buf->b[at], 8);
	if (!word_has_nl(x))
		return 0;
	for (int j = 0; j < 8; j++) {
		__u32 i = at + j;
		if (i >= n || i >= TLS_SCAN_MAX)
			return 1;
		if (buf->b[i] != '\n')
			continue;
		__u32 start = buf->found; /* the current line's start (0: the request line) */
		buf->found = i + 1;
		if (start && i - start <= 1)
			return 1; /* the empty line: the head ends */
		if (start)
			obsbpf_tls_line(buf, start, i - start);
	}
	return 0;
}

/* The request in buf->b (n bytes) carries a valid trace header? Then t continues it. Else a
 * request read starts a new trace, and one sent continues the request its thread serves, or
 * starts one. A request read binds the reading thread to t, as for cleartext. */
__noinline int obsbpf_tls_request(struct tls_buf *buf, struct obsbpf_trace *t, int read)
{
	if (!buf || !t)
		return 0;
	struct obsbpf_trace_cfg *cfg = trace_config();
	if (!cfg || !cfg->propagation)
		return 0;
	__builtin_memset(&buf->f, 0, sizeof(buf->f));
	buf->found = 0;
	bpf_loop(TLS_SCAN_MAX / 8, tls_scan_word, NULL, 0);
	struct obsbpf_trace *served = read ? NULL : served_trace();
	if (found_valid(&buf->f)) {
		continue_trace(t, &buf->f);
		stat_inc(OBSBPF_ST_TRACE_CONTINUED);
	} else if (served && served->origin != OBSBPF_TO_NONE) {
		__builtin_memcpy(t->trace_id, served->trace_id, 16);
		__builtin_memcpy(t->parent_id, served->span_id, 8);
		t->flags = served->flags;
		t->origin = OBSBPF_TO_THREAD;
		new_span_id(t);
		stat_inc(OBSBPF_ST_TRACE_THREAD);
	} else {
		if (buf->f.mask & TF_BAD)
			stat_inc(OBSBPF_ST_TRACE_INVALID);
		new_trace(t, cfg);
	}
	if (read)
		serve_trace(t);
	else
		stat_inc(OBSBPF_ST_TLS_NOT_INJECTED);
	return 0;
}

/* An event is built here, then copied into the ring buffer as long as what it carries. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct obsbpf_tls_event);
} tls_ev SEC(".maps");

SEC("uretprobe")
int BPF_KRETPROBE(obsbpf_ssl_ret, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct obsbpf_tls_args *a = bpf_map_lookup_elem(&tls_args, &id);
	if (!a)
		return 0;
	struct obsbpf_tls_args call = *a;
	bpf_map_delete_elem(&tls_args, &id);
	/* SSL_write/SSL_read return the bytes moved; the _ex forms 1 with the count behind a
	 * pointer. Nothing moved (an error, a renegotiation, WANT_READ): no event. */
	__u64 n = 0;
	if (!call.ex_len)
		n = ret > 0 ? (__u64)ret : 0;
	else if (ret == 1 && bpf_probe_read_user(&n, sizeof(n), (void *)call.ex_len) < 0)
		n = 0;
	if (!n || n > 0x7fffffff)
		return 0;
	__u32 zero = 0;
	struct obsbpf_tls_event *e = bpf_map_lookup_elem(&tls_ev, &zero);
	if (!e)
		return 0;
	struct obsbpf_tls_key k = { .ssl = call.ssl, .tgid = (__u32)(id >> 32) };
	int h2 = bpf_map_lookup_elem(&tls_h2, &k) != NULL;
	__u64 cap = n;
	if (h2) {
		BOUND(cap, OBSBPF_TLS_CAP_H2);
	} else {
		BOUND(cap, OBSBPF_TLS_CAP);
	}
	/* HTTP/2: a call larger than one event goes out as up to OBSBPF_TLS_H2_PIECES events of
	 * consecutive bytes, each as if a call of its own, so that frame headers deep in a large
	 * write (a server's DATA of many streams, then HEADERS) are seen; bytes past them are
	 * only counted (the last piece's len). */
	__u64 pieces = 1;
	if (h2 && n > OBSBPF_TLS_CAP_H2)
		pieces = (n + OBSBPF_TLS_CAP_H2 - 1) / OBSBPF_TLS_CAP_H2;
	if (pieces > OBSBPF_TLS_H2_PIECES)
		pieces = OBSBPF_TLS_H2_PIECES;
	NONZERO(cap, OBSBPF_TLS_CAP_H2);
	if (bpf_probe_read_user(e->data, cap, (void *)call.buf) < 0)
		return 0;
	/* The client's preface, sent or read: HTTP/2 from here on, at the larger cap. */
	if (!h2 && cap >= 8 && e->data[0] == 'P' && e->data[1] == 'R' && e->data[2] == 'I' &&
	    e->data[3] == ' ' && e->data[4] == '*' && e->data[5] == ' ' && e->data[6] == 'H' &&
	    e->data[7] == 'T') {
		__u8 one = 1;
		bpf_map_update_elem(&tls_h2, &k, &one, BPF_ANY);
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->call_ns = call.ts_ns;
	e->pid_tgid = id;
	e->ssl = call.ssl;
	e->pod_id = call.pod_id;
	e->len = pieces > 1 ? (__u32)cap : (__u32)n;
	e->cap = (__u16)cap;
	e->op = (__u8)call.op;
	e->reason = 0;
	struct obsbpf_tls_sock *s = bpf_map_lookup_elem(&tls_sock, &k);
	e->tied = s != NULL;
	if (s)
		e->sock = *s;
	else
		__builtin_memset(&e->sock, 0, sizeof(e->sock));
	__builtin_memset(&e->trace, 0, sizeof(e->trace));
	/* A request: its span context (and a read one's thread serves it). */
	__u32 target;
	if (!h2 && obsbpf_parse_method(e->data, (__u32)cap < 16 ? (__u32)cap : 16, &target) >= 0) {
		struct tls_buf *buf = tls_scratch_get();
		__u64 scan = cap;
		BOUND(scan, TLS_SCAN_MAX);
		NONZERO(scan, TLS_SCAN_MAX);
		if (buf && bpf_probe_read_user(buf->b, scan, (void *)call.buf) == 0) {
			buf->n = (__u32)scan;
			obsbpf_tls_request(buf, &e->trace, call.op == OBSBPF_TLS_READ);
		}
	}
	__u64 flags = bpf_ringbuf_query(&tls_events, BPF_RB_AVAIL_DATA) >= RINGBUF_WAKEUP_BYTES
		? BPF_RB_FORCE_WAKEUP
		: BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&tls_events, e, OBSBPF_TLS_EVENT_HDR + cap, flags) < 0)
		stat_inc(OBSBPF_ST_TLS_EVENTS_DROPPED);
	for (__u32 i = 1; i < OBSBPF_TLS_H2_PIECES; i++) {
		if (i >= pieces)
			break;
		__u64 at = (__u64)i * OBSBPF_TLS_CAP_H2;
		__u64 rest = n - at, c = rest;
		BOUND(c, OBSBPF_TLS_CAP_H2);
		NONZERO(c, OBSBPF_TLS_CAP_H2);
		if (bpf_probe_read_user(e->data, c, (void *)(call.buf + at)) < 0)
			return 0;
		e->len = i + 1 == pieces ? (__u32)rest : (__u32)c;
		e->cap = (__u16)c;
		if (bpf_ringbuf_output(&tls_events, e, OBSBPF_TLS_EVENT_HDR + c, flags) < 0)
			stat_inc(OBSBPF_ST_TLS_EVENTS_DROPPED);
	}
	return 0;
}

/* The socket hooks, on a connection classified TLS, in the thread that moves its bytes: when
 * that thread is inside an SSL call, the SSL * is tied to the connection (addresses, role),
 * and the connection counts as seen through the library, not unparsed. */
__noinline int obsbpf_tls_tie(struct obsbpf_conn *c)
{
	if (!c)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	pid_mark((__u32)(id >> 32), OBSBPF_TLS_PID_IO);
	struct obsbpf_tls_args *a = bpf_map_lookup_elem(&tls_args, &id);
	if (!a)
		return 0;
	struct obsbpf_tls_key k = { .ssl = a->ssl, .tgid = (__u32)(id >> 32) };
	struct obsbpf_tls_sock s = { .cookie = c->cookie, .addrs = c->addrs, .dir = c->dir };
	bpf_map_update_elem(&tls_sock, &k, &s, BPF_ANY);
	c->tls_ssl = k.ssl;
	c->tls_tgid = k.tgid;
	if (!c->tls_seen) {
		c->tls_seen = 1;
		stat_inc(OBSBPF_ST_CONN_TLS_VISIBLE);
	}
	return 0;
}

/* A connection an SSL * was tied to closed: user space ends the requests left unanswered on it
 * with reason (enum obsbpf_no_response) and forgets what it parsed. */
__noinline int obsbpf_tls_closed(struct obsbpf_conn *c, __u32 reason)
{
	if (!c || !c->tls_seen)
		return 0;
	struct obsbpf_tls_event *e = bpf_ringbuf_reserve(&tls_events, OBSBPF_TLS_EVENT_HDR, 0);
	if (!e) {
		stat_inc(OBSBPF_ST_TLS_EVENTS_DROPPED);
		return 0;
	}
	__builtin_memset(e, 0, OBSBPF_TLS_EVENT_HDR);
	e->ts_ns = bpf_ktime_get_ns();
	e->op = OBSBPF_TLS_CLOSE;
	e->reason = reason;
	e->ssl = c->tls_ssl;
	e->pid_tgid = (__u64)c->tls_tgid << 32;
	e->sock.cookie = c->cookie;
	e->sock.addrs = c->addrs;
	e->sock.dir = c->dir;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
