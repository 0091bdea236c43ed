// SPDX-License-Identifier: GPL-2.0
/* tc ingress on the pod's interfaces: sees what arrives for the pod. Server sockets: a request
 * arriving starts the clock. Client sockets: the first byte of the response stops it. The
 * receiving socket is found with a socket lookup (on veth skb->sk is the sender's, on lo none). */
#include "conn.bpf.h"
#include <bpf/bpf_endian.h>

#define TC_ACT_OK 0
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define AF_INET 2
#define AF_INET6 10
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/* The payload's first bytes. A per-CPU map, not the stack (tc + the route subprogram would
 * exceed 512 bytes); safe because tc ingress runs in softirq, which does not nest on a CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct obsbpf_line);
} tc_scratch SEC(".maps");

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

static __always_inline void on_payload(struct obsbpf_conn *c, const struct pkt *k, struct obsbpf_line *line,
				       __u32 n)
{
	if (c->dir == OBSBPF_DIR_SERVER) {
		__u32 target = 0;
		int m = obsbpf_parse_method(line->b, n, &target);
		if (m < 0) {
			/* Only the stream's first bytes say what protocol it is: a later segment of a
			 * TLS or binary stream may start with any byte. */
			if (c->head == c->tail && k->seq == c->rx_first_seq)
				classify_other(c, line->b, n);
			return;
		}
		if (seen_before(c, k->seq))
			return;
		c->proto = OBSBPF_PROTO_HTTP1;
		pending_push(c, bpf_ktime_get_ns(), (__u8)m, obsbpf_route_intern(line, n, target));
		return;
	}
	int status = obsbpf_parse_status(line->b, n);
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
		struct obsbpf_line *line = bpf_map_lookup_elem(&tc_scratch, &zero);
		__u32 n = len < OBSBPF_LINE_BUF ? len : OBSBPF_LINE_BUF;
		if (line && n > 0 && bpf_skb_load_bytes(skb, k.payload_off, line->b, n) == 0)
			on_payload(c, &k, line, n);
	}
	bpf_sk_release(sk);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
