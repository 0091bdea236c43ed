// SPDX-License-Identifier: GPL-2.0
/* tc on the pod's interfaces. Ingress sees what arrives for the pod: on server sockets a request
 * arriving starts the clock, on client sockets the first byte of the response stops it; the
 * receiving socket is found with a socket lookup (on veth skb->sk is the sender's, on lo none).
 * Egress sees the server sockets' responses leave (skb->sk is the sending socket) and stops
 * their clock. Server sockets are not in the sockhash: sk_msg and its send path (which copies
 * every send) cost the pods that only serve ~8% of their throughput; tc reads in place. */
#include "conn.bpf.h"
#include "text.bpf.h"
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
/* What a lone response needs loaded: its status line up to the code ("HTTP/1.1 200 "). The
 * copy of a whole line buffer was a tenth of tc egress's time. */
#define TC_STATUS_BYTES 16

/* The payload's first bytes: the start line (line) and, when tracing, the head. Slack after
 * TC_HEAD_MAX so that a header line at any offset can be handed on whole (struct trace_line).
 * A per-CPU map, not the stack: safe because neither tc hook nests into the other on a CPU
 * (ingress runs in softirq, egress with bottom halves disabled). */
/* What a walk over a message head found: where the head ends (0: not within the bytes loaded)
 * and the body length (BODY_UNKNOWN / BODY_CHUNKED when not given by Content-Length). */
struct tc_head {
	__u32 head_end;
	__u32 pad;
	__s64 body;
};

/* What the walk over a head collects; a sized type so that a global subprogram can take it. */
struct tc_found {
	struct trace_found f;
	struct tc_head h;
	__u32 props;
	__u32 pad;
};

/* Also the walk's results and the span context: the stack (512 bytes for tc, the message walk
 * and the route subprogram together) has no room for them. */
struct tc_buf {
	union {
		struct obsbpf_line line;
		__u8 b[TC_HEAD_MAX];
	};
	__u8 slack[TRACE_LINE_BUF];
	struct tc_found fd;
	struct obsbpf_trace t;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_buf);
} tc_scratch SEC(".maps");

struct tc_scan {
	struct tc_buf *buf;
	struct tc_found *out;
	__u32 n;
	__u32 start; /* where the current line starts */
};

/* Content-Length or Transfer-Encoding in the line at p (TRACE_LINE_BUF bytes readable). */
static __always_inline void body_line(const __u8 *p, __u32 linelen, struct tc_head *h)
{
	if (linelen >= 18 && name_is(p, "transfer-encoding:", 18)) {
		h->body = BODY_CHUNKED;
		return;
	}
	if (linelen < 16 || !name_is(p, "content-length:", 15) || h->body == BODY_CHUNKED)
		return;
	int i = 15;
	if (p[i] == ' ' || p[i] == '\t')
		i++;
	if (p[i] == ' ' || p[i] == '\t')
		i++;
	__s64 v = 0;
	int digits = 0;
	for (int k = 0; k < 19; k++) {
		__u8 d = p[i + k];
		if (d < '0' || d > '9')
			break;
		v = v * 10 + (d - '0');
		digits++;
	}
	if (digits)
		h->body = v;
}

/* One header line of a head: body length and trace headers. A global subprogram: verified
 * once, not for every way the scan can reach it. */
__noinline int obsbpf_tc_line(struct tc_buf *buf, __u32 start, __u32 linelen, struct tc_found *out)
{
	if (!buf || !out || start >= TC_HEAD_MAX)
		return 0;
	const __u8 *p = &buf->b[start];
	__u8 c = *p | 0x20;
	if (c == 'c' || c == 't')
		body_line(p, linelen, &out->h);
	if (out->props && (c == 't' || c == 'b' || c == 'x'))
		obsbpf_trace_line((struct trace_line *)p, linelen, out->props, &out->f);
	return 0;
}

/* One line end at i. Returns 1 at the head's empty line. */
static __always_inline int tc_line_end(struct tc_scan *s, __u32 i)
{
	__u32 start = s->start;
	s->start = i + 1;
	if (start == 0) /* the start line */
		return 0;
	if (i - start <= 1) { /* "\r\n" or "\n": the end of the head */
		s->out->h.head_end = i + 1;
		return 1;
	}
	obsbpf_tc_line(s->buf, start, i - start, s->out);
	return 0;
}

/* bpf_loop callback: eight bytes a step (word_has_nl).
 * A plain loop would have the verifier walk every (offset, line start) pair. */
static int tc_scan_word(__u32 w, struct tc_scan *s)
{
	__u32 at = w * 8;
	if (at >= TC_HEAD_MAX || at >= s->n)
		return 1;
	__u64 x;
	__builtin_memcpy(&x, &s->buf->b[at], 8);
	if (!word_has_nl(x))
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

/* Walks the message head in the first n bytes of buf: its end, its body length and, for the
 * styles in out->props, its trace headers. */
static __always_inline void tc_head_scan(struct tc_buf *buf, __u32 n, struct tc_found *out)
{
	out->h.head_end = 0;
	out->h.body = BODY_UNKNOWN;
	struct tc_scan s = { .buf = buf, .out = out, .n = n };
	bpf_loop((n + 7) / 8, tc_scan_word, &s, 0);
}

/* The server span's context for a request whose head was scanned: continued from its trace
 * header, or a new trace. */
static __always_inline void trace_incoming(const struct obsbpf_trace_cfg *cfg, const struct trace_found *f,
					   struct obsbpf_trace *t)
{
	if (found_valid(f)) {
		continue_trace(t, f);
		stat_inc(OBSBPF_ST_TRACE_CONTINUED);
		return;
	}
	if (f->mask & TF_BAD)
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
	case 'G': case 'H': case 'P': case 'D': case 'C': case 'O': case 'T':
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

/* The messages of one segment, walked with bpf_loop (one step verified once): several
 * pipelined requests, or responses, often arrive in one segment. */
struct tc_walk {
	struct __sk_buff *skb;
	struct obsbpf_conn *c;
	struct tc_buf *buf;
	struct pkt *k;
	__u32 len;  /* payload bytes */
	__u32 off;  /* where the current message starts in the payload */
	__u32 n;    /* bytes of it in buf */
	__u32 egress; /* responses leaving server sockets, not messages arriving */
};

/* Where the next message starts after the one at w->off whose head was scanned, or 0 (stop). */
static __always_inline __u32 next_message(const struct tc_walk *w, const struct tc_head *h, __s64 body)
{
	if (!h->head_end || body < 0 || body > 0x7fffffff)
		return 0;
	__u64 next = (__u64)w->off + h->head_end + (__u64)body;
	return next < w->len ? (__u32)next : 0;
}

static __always_inline int on_request(struct tc_walk *w, __u32 i)
{
	struct obsbpf_conn *c = w->c;
	struct tc_buf *buf = w->buf;
	__u32 target = 0;
	__u32 ln = w->n < OBSBPF_LINE_BUF ? w->n : OBSBPF_LINE_BUF;
	int m = obsbpf_parse_method(buf->line.b, ln, &target);
	if (m < 0) {
		/* Only the stream's first bytes say what protocol it is: a later segment of a TLS or
		 * binary stream may start with any byte. */
		if (i == 0 && c->head == c->tail && w->k->seq == c->rx_first_seq)
			classify_other(c, buf->line.b, ln);
		return 1;
	}
	if (i == 0 && seen_before(c, w->k->seq, 0))
		return 1;
	c->proto = OBSBPF_PROTO_HTTP1;
	__u64 now = bpf_ktime_get_ns();
	struct obsbpf_trace_cfg *cfg = trace_config();
	__u32 props = cfg ? cfg->propagation : 0;
	struct tc_found *fd = &buf->fd;
	__builtin_memset(fd, 0, sizeof(*fd));
	fd->props = props;
	tc_head_scan(buf, w->n, fd);
	struct obsbpf_trace *t = &buf->t;
	__builtin_memset(t, 0, sizeof(*t));
	if (props && cfg)
		trace_incoming(cfg, &fd->f, t);
	pending_push(c, now, (__u8)m, obsbpf_route_intern(&buf->line, ln, target, &c->route), t);
	/* RFC 9112 6.3: no Content-Length and not chunked: no body. Where the body ends, the next
	 * request starts: segments before it are body, whatever their first bytes look like. */
	__s64 body = fd->h.body == BODY_UNKNOWN ? 0 : fd->h.body;
	c->rx_next_valid = 0;
	if (fd->h.body == BODY_CHUNKED)
		c->in_chunked = 1;
	else if (fd->h.head_end && body <= 0x7fffffff) {
		c->rx_next_seq = w->k->seq + w->off + fd->h.head_end + (__u32)body;
		c->rx_next_valid = 1;
	}
	__u32 next = next_message(w, &fd->h, body);
	if (!next)
		return 1;
	w->off = next;
	return 0;
}

/* Loads the head of the message at w->off (TC_HEAD_MAX bytes at most). Returns 0 or -1. */
static __always_inline int load_head(struct tc_walk *w)
{
	if (w->off >= w->len)
		return -1;
	__u32 n = w->len - w->off;
	if (n > TC_HEAD_MAX)
		n = TC_HEAD_MAX;
	if (n == 0 || bpf_skb_load_bytes(w->skb, w->k->payload_off + w->off, w->buf->b, n) < 0)
		return -1;
	w->n = n;
	return 0;
}

static __always_inline int on_response(struct tc_walk *w, __u32 i)
{
	struct obsbpf_conn *c = w->c;
	struct tc_buf *buf = w->buf;
	__u32 ln = w->n < OBSBPF_LINE_BUF ? w->n : OBSBPF_LINE_BUF;
	int status = obsbpf_parse_status(buf->line.b, ln);
	if (status < 0) {
		/* A server that speaks first with nothing asked is not HTTP (TLS answers a hello the
		 * ingress side does not parse). Client connections are classified by sk_msg. */
		if (i == 0 && w->egress && c->head == c->tail)
			classify_other(c, buf->line.b, ln);
		return 1;
	}
	if (i == 0 && seen_before(c, w->k->seq, w->egress))
		return 1;
	struct obsbpf_pending p = {};
	__u8 interim = status < 200 && status != 101;
	if (!interim) {
		if (pending_pop(c, &p) < 0) {
			stat_inc(OBSBPF_ST_RESP_UNMATCHED);
			return 1;
		}
		record_exchange(c, &p, bpf_ktime_get_ns(), (__u16)status, &w->k->a);
		if (status == 101) {
			c->proto = OBSBPF_PROTO_OTHER;
			return 1;
		}
		/* Another response can follow in this segment only if a request is still waiting. */
		if (c->head == c->tail)
			return 1;
	}
	/* A lone response had only its status line loaded; an interim one (100 Continue) may be
	 * followed by the final response in this segment: its end is needed. */
	if (w->n < TC_HEAD_MAX && w->off + w->n < w->len && load_head(w) < 0)
		return 1;
	struct tc_found *fd = &buf->fd;
	__builtin_memset(fd, 0, sizeof(*fd));
	tc_head_scan(buf, w->n, fd);
	/* RFC 9112 6.3: no body after 1xx, 204, 304 and a HEAD request; without Content-Length a
	 * body runs to the close (or is chunked): nothing follows that we can find. */
	__s64 body = (interim || status == 204 || status == 304 || p.method == OBSBPF_M_HEAD) ? 0 : fd->h.body;
	__u32 next = next_message(w, &fd->h, body);
	if (!next)
		return 1;
	w->off = next;
	return 0;
}

static int tc_message(__u32 i, struct tc_walk *w)
{
	/* The next message of the segment: load its first bytes. */
	if (i > 0 && load_head(w) < 0)
		return 1;
	if (w->c->proto == OBSBPF_PROTO_TLS || w->c->proto == OBSBPF_PROTO_OTHER)
		return 1;
	return w->c->dir == OBSBPF_DIR_SERVER && !w->egress ? on_request(w, i) : on_response(w, i);
}

/* Loads the segment's payload from off (want bytes at most) into the per-CPU buffer and walks
 * its messages. */
static __always_inline void walk_segment(struct __sk_buff *skb, struct obsbpf_conn *c, struct pkt *k,
					 __u32 len, __u32 off, __u32 want, __u32 egress)
{
	__u32 zero = 0;
	struct tc_buf *buf = off < len ? bpf_map_lookup_elem(&tc_scratch, &zero) : NULL;
	__u32 n = len - off < want ? len - off : want;
	if (buf && n > 0 && bpf_skb_load_bytes(skb, k->payload_off + off, buf->b, n) == 0) {
		struct tc_walk w = { .skb = skb, .c = c, .buf = buf, .k = k, .len = len, .off = off, .n = n,
				     .egress = egress };
		bpf_loop(OBSBPF_PENDING, tc_message, &w, 0);
	}
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

SEC("tc")
int obsbpf_tc_ingress(struct __sk_buff *skb)
{
	struct pkt k = {};
	__u32 len = parse_pkt(skb, &k, 0);
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
		/* A request's head (trace headers, its length); a response's status line, unless
		 * more requests wait on the connection and more responses may follow it. */
		__u32 want = c->dir == OBSBPF_DIR_SERVER || c->tail - c->head > 1 ? TC_HEAD_MAX : TC_STATUS_BYTES;
		walk_segment(skb, c, &k, len, body_before_request(c, k.seq, len), want, 0);
	}
	bpf_sk_release(sk);
	return TC_ACT_OK;
}

SEC("tc")
int obsbpf_tc_egress(struct __sk_buff *skb)
{
	struct pkt k = {};
	__u32 len = parse_pkt(skb, &k, 1);
	if (!len)
		return TC_ACT_OK;
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return TC_ACT_OK;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return TC_ACT_OK;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, 0);
	/* Client connections' requests are sk_msg's (it may insert headers into them). */
	if (!c || c->dir != OBSBPF_DIR_SERVER || c->proto == OBSBPF_PROTO_TLS || c->proto == OBSBPF_PROTO_OTHER)
		return TC_ACT_OK;
	/* Once the connection is known HTTP, only a status line ("HTTP/") starts a message. */
	__u8 first;
	if (c->proto == OBSBPF_PROTO_HTTP1 &&
	    (bpf_skb_load_bytes(skb, k.payload_off, &first, 1) < 0 || first != 'H'))
		return TC_ACT_OK;
	/* The status line; the whole head when more requests wait (pipelined responses may share
	 * this segment). */
	walk_segment(skb, c, &k, len, 0, c->tail - c->head > 1 ? TC_HEAD_MAX : TC_STATUS_BYTES, 1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
