// SPDX-License-Identifier: GPL-2.0
/* tc ingress on the pod's interfaces: sees what arrives for the pod. Server sockets: a request
 * arriving starts the clock. Client sockets: the first byte of the response stops it. The
 * receiving socket is found with a socket lookup (on veth skb->sk is the sender's, on lo none). */
#include "conn.bpf.h"
#include "trace.bpf.h"
#include <bpf/bpf_endian.h>

#define TC_ACT_OK 0
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define AF_INET 2
#define AF_INET6 10
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

#define TC_HEAD_MAX 1024 /* bytes of a request head searched for trace headers */

/* The payload's first bytes: the start line (line) and, when tracing, the head. Slack after
 * TC_HEAD_MAX so that a header line at any offset can be handed on whole (struct trace_line).
 * A per-CPU map, not the stack: safe because tc ingress runs in softirq, which does not nest
 * on a CPU. */
struct tc_buf {
	union {
		struct obsbpf_line line;
		__u8 b[TC_HEAD_MAX];
	};
	__u8 slack[TRACE_LINE_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_buf);
} tc_scratch SEC(".maps");

struct tc_scan {
	struct tc_buf *buf;
	struct trace_found *f;
	__u32 n;
	__u32 props;
	__u32 start; /* where the current line starts */
	__u32 pad;
};

#define NLS 0x0a0a0a0a0a0a0a0aull
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* One line end at i: classify the line that ends there. Returns 1 at the head's empty line. */
static __always_inline int tc_line_end(struct tc_scan *s, __u32 i)
{
	__u32 start = s->start;
	s->start = i + 1;
	if (start == 0) /* the request line */
		return 0;
	if (i - start <= 1) /* "\r\n" or "\n": the end of the head */
		return 1;
	if (start >= TC_HEAD_MAX)
		return 1;
	__u8 c = s->buf->b[start] | 0x20;
	if (c == 't' || c == 'b' || c == 'x')
		obsbpf_trace_line((struct trace_line *)&s->buf->b[start], i - start, s->props, s->f);
	return 0;
}

/* bpf_loop callback: eight bytes a step (a word holding a '\n' has a zero byte in w ^ NLS).
 * A plain loop would have the verifier walk every (offset, line start) pair. */
static int tc_scan_word(__u32 w, struct tc_scan *s)
{
	__u32 at = w * 8;
	if (at >= TC_HEAD_MAX || at >= s->n)
		return 1;
	__u64 x;
	__builtin_memcpy(&x, &s->buf->b[at], 8);
	x ^= NLS;
	if (!((x - ONES) & ~x & HIGHS))
		return 0;
	for (int j = 0; j < 8; j++) {
		__u32 i = at + j;
		if (i >= s->n || i >= TC_HEAD_MAX)
			return 1;
		if (s->buf->b[i] == '\n' && tc_line_end(s, i))
			return 1;
	}
	return 0;
}

/* Finds the trace headers in the first n bytes of a request head; stops at its empty line. */
__noinline int obsbpf_tc_trace_scan(struct tc_buf *buf, __u32 n, __u32 props, struct trace_found *f)
{
	if (!buf || !f)
		return 0;
	struct tc_scan s = { .buf = buf, .f = f, .n = n, .props = props };
	bpf_loop((n + 7) / 8, tc_scan_word, &s, 0);
	return 0;
}

/* The server span's context for a request that just arrived: continued from its trace header,
 * or a new trace. */
static __always_inline void trace_incoming(struct tc_buf *buf, __u32 n, struct obsbpf_trace *t)
{
	struct obsbpf_trace_cfg *cfg = trace_config();
	if (!cfg || !cfg->propagation)
		return;
	struct trace_found f = {};
	obsbpf_tc_trace_scan(buf, n, cfg->propagation, &f);
	if (found_valid(&f)) {
		continue_trace(t, &f);
		stat_inc(OBSBPF_ST_TRACE_CONTINUED);
		return;
	}
	if (f.mask & TF_BAD)
		stat_inc(OBSBPF_ST_TRACE_INVALID);
	new_trace(t, cfg);
}

struct pkt {
	struct bpf_sock_tuple t;
	__u32 payload_off;
	__u32 seq;
	struct obsbpf_addrs a;
};

/* Parses eth/IP/TCP from the linear area (headers are always there; payload may not be).
 * Returns the payload length, 0 for no payload or not TCP. */
static __always_inline __u32 parse_pkt(struct __sk_buff *skb, struct pkt *k)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *tcp;

	if ((void *)(eth + 1) > end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP ||
		    (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) || ip->ihl < 5)
			return 0;
		tcp = (void *)ip + ip->ihl * 4;
		k->t.ipv4.saddr = ip->saddr;
		k->t.ipv4.daddr = ip->daddr;
		k->a.family = AF_INET;
		__builtin_memcpy(k->a.remote, &ip->saddr, 4);
		__builtin_memcpy(k->a.local, &ip->daddr, 4);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP) /* ext headers: not followed */
			return 0;
		tcp = (void *)(ip6 + 1);
		__builtin_memcpy(k->t.ipv6.saddr, &ip6->saddr, 16);
		__builtin_memcpy(k->t.ipv6.daddr, &ip6->daddr, 16);
		k->a.family = AF_INET6;
		__builtin_memcpy(k->a.remote, &ip6->saddr, 16);
		__builtin_memcpy(k->a.local, &ip6->daddr, 16);
	} else {
		return 0;
	}
	if ((void *)(tcp + 1) > end)
		return 0;
	k->payload_off = (__u32)((void *)tcp - data) + tcp->doff * 4;
	if (skb->len <= k->payload_off)
		return 0;
	if (k->a.family == AF_INET) {
		k->t.ipv4.sport = tcp->source;
		k->t.ipv4.dport = tcp->dest;
	} else {
		k->t.ipv6.sport = tcp->source;
		k->t.ipv6.dport = tcp->dest;
	}
	k->a.remote_port = bpf_ntohs(tcp->source);
	k->a.local_port = bpf_ntohs(tcp->dest);
	k->seq = bpf_ntohl(tcp->seq);
	return skb->len - k->payload_off;
}

/* Only payloads that can start an HTTP message (a method's first letter, or 'H' of a status
 * line) need the socket lookup; others matter only for the first payload of a connection, which
 * sk_msg also classifies when the pod answers it. Saves the lookup on body segments. */
static __always_inline int may_start_http(struct __sk_buff *skb, __u32 off)
{
	__u8 c;
	if (bpf_skb_load_bytes(skb, off, &c, 1) < 0)
		return 0;
	switch (c) {
	case 'G': case 'H': case 'P': case 'D': case 'C': case 'O': case 'T':
		return 1;
	}
	return 0;
}

/* True when this segment starts the same message as the last one seen (a retransmit). */
static __always_inline int seen_before(struct obsbpf_conn *c, __u32 seq)
{
	if (c->rx_seq_valid && c->rx_start_seq == seq) {
		stat_inc(OBSBPF_ST_RETRANSMIT);
		return 1;
	}
	c->rx_start_seq = seq;
	c->rx_seq_valid = 1;
	return 0;
}

static __always_inline void on_payload(struct obsbpf_conn *c, const struct pkt *k, struct tc_buf *buf,
				       __u32 n)
{
	struct obsbpf_line *line = &buf->line;
	if (c->dir == OBSBPF_DIR_SERVER) {
		__u32 target = 0;
		__u32 ln = n < OBSBPF_LINE_BUF ? n : OBSBPF_LINE_BUF;
		int m = obsbpf_parse_method(line->b, ln, &target);
		if (m < 0) {
			/* Only the stream's first bytes say what protocol it is: a later segment of a
			 * TLS or binary stream may start with any byte. */
			if (c->head == c->tail && k->seq == c->rx_first_seq)
				classify_other(c, line->b, ln);
			return;
		}
		if (seen_before(c, k->seq))
			return;
		c->proto = OBSBPF_PROTO_HTTP1;
		__u64 now = bpf_ktime_get_ns();
		struct obsbpf_trace t = {};
		trace_incoming(buf, n, &t);
		pending_push(c, now, (__u8)m, obsbpf_route_intern(line, n < OBSBPF_LINE_BUF ? n : OBSBPF_LINE_BUF, target), &t);
		return;
	}
	int status = obsbpf_parse_status(line->b, n < OBSBPF_LINE_BUF ? n : OBSBPF_LINE_BUF);
	if (status < 0 || (status < 200 && status != 101))
		return;
	if (seen_before(c, k->seq))
		return;
	struct obsbpf_pending p;
	if (pending_pop(c, &p) < 0) {
		stat_inc(OBSBPF_ST_RESP_UNMATCHED);
		return;
	}
	record_exchange(c, &p, bpf_ktime_get_ns(), (__u16)status, &k->a);
	if (status == 101)
		c->proto = OBSBPF_PROTO_OTHER;
}

SEC("tc")
int obsbpf_tc_ingress(struct __sk_buff *skb)
{
	struct pkt k = {};
	__u32 len = parse_pkt(skb, &k);
	if (!len || !may_start_http(skb, k.payload_off))
		return TC_ACT_OK;

	/* Constant tuple sizes: the verifier wants the size bounded at the call. */
	struct bpf_sock *sk = k.a.family == AF_INET
		? bpf_sk_lookup_tcp(skb, &k.t, sizeof(k.t.ipv4), BPF_F_CURRENT_NETNS, 0)
		: bpf_sk_lookup_tcp(skb, &k.t, sizeof(k.t.ipv6), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return TC_ACT_OK;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, 0);
	if (c && c->proto != OBSBPF_PROTO_TLS && c->proto != OBSBPF_PROTO_OTHER) {
		__u32 zero = 0;
		struct tc_buf *buf = bpf_map_lookup_elem(&tc_scratch, &zero);
		/* A request's whole head only when tracing (trace headers); else its start line. */
		__u32 want = c->dir == OBSBPF_DIR_SERVER && tracing_on() ? TC_HEAD_MAX : OBSBPF_LINE_BUF;
		__u32 n = len < want ? len : want;
		if (buf && n > 0 && bpf_skb_load_bytes(skb, k.payload_off, buf->b, n) == 0)
			on_payload(c, &k, buf, n);
	}
	bpf_sk_release(sk);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
