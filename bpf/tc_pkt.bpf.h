/* SPDX-License-Identifier: GPL-2.0 */
/* What tc reads of a segment before any HTTP: eth/IP/TCP, retransmits, the payload's bytes
 * into the scratch buffer, and where a request's body ends. bpf/tc.bpf.c only. */
#ifndef OBSBPF_TC_PKT_BPF_H
#define OBSBPF_TC_PKT_BPF_H

#include "tc_buf.bpf.h"
#include <bpf/bpf_endian.h>

/* Parses eth/IP/TCP from the linear area (headers are always there; payload may not be).
 * Returns the payload length, 0 for no payload or not TCP. The pod's end of the connection is
 * the destination on ingress and the source on egress. */
static __always_inline __u32 parse_pkt(struct __sk_buff *skb, struct pkt *k, int egress)
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
		__builtin_memcpy(egress ? k->a.local : k->a.remote, &ip->saddr, 4);
		__builtin_memcpy(egress ? k->a.remote : k->a.local, &ip->daddr, 4);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP) /* ext headers: not followed */
			return 0;
		tcp = (void *)(ip6 + 1);
		__builtin_memcpy(k->t.ipv6.saddr, &ip6->saddr, 16);
		__builtin_memcpy(k->t.ipv6.daddr, &ip6->daddr, 16);
		k->a.family = AF_INET6;
		__builtin_memcpy(egress ? k->a.local : k->a.remote, &ip6->saddr, 16);
		__builtin_memcpy(egress ? k->a.remote : k->a.local, &ip6->daddr, 16);
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
	k->a.remote_port = bpf_ntohs(egress ? tcp->dest : tcp->source);
	k->a.local_port = bpf_ntohs(egress ? tcp->source : tcp->dest);
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
	case 0: /* an HTTP/2 frame header (length < 64 KiB): a server's first SETTINGS */
	case 'G':
	case 'H':
	case 'P':
	case 'D':
	case 'C':
	case 'O':
	case 'T':
		return 1;
	}
	return 0;
}

/* True when this segment starts the same message as the last one seen in its direction (a
 * retransmit). */
static __always_inline int seen_before(struct obsbpf_conn *c, __u32 seq, int egress)
{
	__u32 *last = egress ? &c->tx_start_seq : &c->rx_start_seq;
	__u32 *valid = egress ? &c->tx_seq_valid : &c->rx_seq_valid;
	if (*valid && *last == seq) {
		stat_inc(OBSBPF_ST_RETRANSMIT);
		return 1;
	}
	*last = seq;
	*valid = 1;
	return 0;
}

/* Loads n bytes of the payload from off into buf->b: n clamped to [1, TC_HEAD_MAX] in a form
 * the verifier follows whatever the compiler does with a plain min. Returns 0 or -1. */
static __always_inline int load_at(struct __sk_buff *skb, struct tc_buf *buf, __u32 off, __u64 n)
{
	BOUND(n, TC_HEAD_MAX);
	if (n == 0)
		return -1;
	NONZERO(n, TC_HEAD_MAX);
	if (bpf_skb_load_bytes(skb, buf->k.payload_off + off, buf->b, n) < 0)
		return -1;
	buf->n = (__u32)n;
	return 0;
}

/* Loads the head of the message at buf->off (TC_HEAD_MAX bytes at most). Returns 0 or -1. */
static __always_inline int load_head(struct __sk_buff *skb, struct tc_buf *buf)
{
	__u32 off = buf->off, len = buf->len;
	if (off >= len)
		return -1;
	return load_at(skb, buf, off, len - off);
}

/* Server connections: how many bytes at the start of this segment belong to the body of the
 * last request (len or more: all of them), so that body bytes are never taken for a request. */
static __always_inline __u32 body_before_request(struct obsbpf_conn *c, __u32 seq, __u32 len)
{
	if (c->dir != OBSBPF_DIR_SERVER)
		return 0;
	if (c->in_chunked) {
		/* Chunk boundaries are not followed: nothing is parsed until the request is answered. */
		if (c->head != c->tail)
			return len;
		c->in_chunked = 0;
		return 0;
	}
	if (!c->rx_next_valid)
		return 0;
	__s32 d = (__s32)(c->rx_next_seq - seq);
	return d > 0 ? (__u32)d : 0;
}

#endif
