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

#define TC_ACT_OK  0
#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86DD
#define AF_INET	   2
#define AF_INET6   10
#define IP_MF	   0x2000
#define IP_OFFSET  0x1fff

#define TC_HEAD_MAX 1024 /* bytes of a request head searched for trace headers */
/* What a lone response needs loaded: its status line up to the code ("HTTP/1.1 200 "). The
 * copy of a whole line buffer was a tenth of tc egress's time. */
#define TC_STATUS_BYTES 16

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

struct pkt {
	struct bpf_sock_tuple t;
	__u32 payload_off;
	__u32 seq;
	struct obsbpf_addrs a;
};

/* Everything one run of a tc program works on: the payload's first bytes (a start line, or a
 * head when tracing, with slack after TC_HEAD_MAX so that a header line at any offset can be
 * handed on whole as a struct trace_line), the segment, and the walk's position. Loop-carried
 * values live here rather than on the stack: the verifier does not follow values through map
 * memory, so every step of a walk is one state for it whatever the offsets are (on the stack,
 * each (offset, line start) pair was a state of its own: 1M instructions).
 * A per-CPU map is safe because neither tc hook nests into the other on a CPU (ingress runs in
 * softirq, egress with bottom halves disabled). */
struct tc_buf {
	union {
		struct obsbpf_line line;
		__u8 b[TC_HEAD_MAX];
	};
	__u8 slack[TRACE_LINE_BUF];
	struct tc_found fd;
	struct obsbpf_trace t;
	struct obsbpf_pending p; /* the request a response answers */
	struct pkt k;
	__u32 len;    /* payload bytes of the segment */
	__u32 off;    /* where the current message starts in the payload */
	__u32 n;      /* bytes of it in b */
	__u32 egress; /* responses leaving server sockets, not messages arriving */
	__u32 start;  /* the head walk: where the current line starts */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_buf);
} tc_scratch SEC(".maps");

/* Set before load where tc may call bpf_get_current_pid_tgid (not on 6.1): the thread id of
 * the response's sender in server spans. */
const volatile __u32 obsbpf_cfg_tc_tid = 1;

static __always_inline struct tc_buf *scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&tc_scratch, &zero);
}

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

/* Whether this exchange gets an event (struct obsbpf_events_cfg). An event costs the ring
 * buffer's lock, 120 bytes written here and read by the agent: ~2% of a busy server's
 * throughput when nothing but exemplars would read it. Not inlined: tc is short of stack. */
static __noinline int event_wanted(const struct obsbpf_pending *p, __u64 now, struct obsbpf_hist_val *v)
{
	__u32 zero = 0;
	struct obsbpf_events_cfg *cfg = bpf_map_lookup_elem(&events_cfg, &zero);
	if (!cfg || cfg->every)
		return 1;
	if (!p || !v || p->trace.origin == OBSBPF_TO_NONE)
		return 0;
	/* v is this CPU's value of the series. sk_msg may be preempted between the read and the
	 * write: at worst one more event. */
	if (v->last_event_ns && now - v->last_event_ns < cfg->sample_gap_ns)
		return 0;
	v->last_event_ns = now;
	return 1;
}

/* Records one request/response exchange: in-kernel histogram, then the event. A global
 * subprogram: verified once. */
__noinline int obsbpf_record(struct obsbpf_conn *c, struct obsbpf_pending *p, __u64 end_ns, __u32 status,
			     struct obsbpf_addrs *a)
{
	if (!c || !p || !a)
		return 0;
	struct obsbpf_hist_key key = {
		.pod_id = c->pod_id,
		.route_id = p->route_id,
		.status = (__u16)status,
		.method = p->method,
		.dir = c->dir,
	};
	__u64 dur = end_ns > p->start_ns ? end_ns - p->start_ns : 0;
	__u32 b = hist_bucket(dur);

	struct obsbpf_hist_val *v = bpf_map_lookup_elem(&http_hist, &key);
	if (!v) {
		bpf_map_update_elem(&http_hist, &key, &obsbpf_zero_hist, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&http_hist, &key);
		if (!v)
			return 0;
	}
	v->count++;
	v->sum_ns += dur;
	if (b < OBSBPF_HIST_BUCKETS)
		v->buckets[b]++;

	if (!event_wanted(p, end_ns, v))
		return 0;
	struct obsbpf_http_event *e = bpf_ringbuf_reserve(&http_events, sizeof(*e), 0);
	if (!e) {
		stat_inc(OBSBPF_ST_EVENTS_DROPPED);
		return 0;
	}
	e->start_ns = p->start_ns;
	e->end_ns = end_ns;
	e->pod_id = c->pod_id;
	e->route_id = p->route_id;
	e->status = (__u16)status;
	e->method = p->method;
	e->dir = c->dir;
	e->addrs = *a;
	e->trace = p->trace;
	/* Client spans: the thread that sent the request. Server spans: the task tc egress runs in,
	 * the response's sender, where tc may ask (not on 6.1). */
	e->tid = c->dir == OBSBPF_DIR_CLIENT ? p->tid
		: obsbpf_cfg_tc_tid	     ? (__u32)bpf_get_current_pid_tgid()
					     : 0;
	e->pad = 0;
	/* A wakeup per event costs microseconds in this program and a context switch in the
	 * agent; the agent drains on a short timer and is woken only when the ring fills up. */
	__u64 flags = bpf_ringbuf_query(&http_events, BPF_RB_AVAIL_DATA) >= RINGBUF_WAKEUP_BYTES
		? BPF_RB_FORCE_WAKEUP
		: BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	return 0;
}

/* One header line of a head: body length and trace headers. A global subprogram: verified
 * once, not for every way the scan can reach it. */
__noinline int obsbpf_tc_line(struct tc_buf *buf, __u32 start, __u32 linelen)
{
	if (!buf || start >= TC_HEAD_MAX)
		return 0;
	const __u8 *p = &buf->b[start];
	__u8 c = *p | 0x20;
	if (c == 'c' || c == 't')
		body_line(p, linelen, &buf->fd.h);
	if (buf->fd.props && (c == 't' || c == 'b' || c == 'x'))
		obsbpf_trace_line((struct trace_line *)p, linelen, buf->fd.props, &buf->fd.f);
	return 0;
}

/* One line end at i. Returns 1 at the head's empty line. */
static __always_inline int tc_line_end(struct tc_buf *buf, __u32 i)
{
	__u32 start = buf->start;
	buf->start = i + 1;
	if (start == 0) /* the start line */
		return 0;
	if (i - start <= 1) { /* "\r\n" or "\n": the end of the head */
		buf->fd.h.head_end = i + 1;
		return 1;
	}
	obsbpf_tc_line(buf, start, i - start);
	return 0;
}

/* bpf_loop callback: eight bytes a step (word_has_nl). No context but the scratch buffer,
 * which it looks up itself: the verifier sees the same state at every step. */
static int tc_scan_word(__u32 w, void *unused)
{
	struct tc_buf *buf = scratch();
	if (!buf)
		return 1;
	__u32 at = w * 8, n = buf->n;
	if (at >= TC_HEAD_MAX - 7 || at >= n)
		return 1;
	__u64 x;
	__builtin_memcpy(&x, &buf->b[at], 8);
	if (!word_has_nl(x))
		return 0;
	for (int j = 0; j < 8; j++) {
		__u32 i = at + j;
		if (i >= n)
			return 1;
		if (buf->b[i] == '\n' && tc_line_end(buf, i))
			return 1;
	}
	return 0;
}

/* Walks the message head in the first buf->n bytes of buf->b: its end, its body length and,
 * for the styles in props, its trace headers (into buf->fd). */
static __always_inline void tc_head_scan(struct tc_buf *buf, __u32 props)
{
	__builtin_memset(&buf->fd, 0, sizeof(buf->fd));
	buf->fd.props = props;
	buf->fd.h.body = BODY_UNKNOWN;
	buf->start = 0;
	bpf_loop(TC_HEAD_MAX / 8, tc_scan_word, NULL, 0);
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

/* Where the next message starts after the one at buf->off whose head was scanned, or 0 (stop). */
static __always_inline __u32 next_message(const struct tc_buf *buf, __s64 body)
{
	__u32 head_end = buf->fd.h.head_end;
	if (!head_end || body < 0 || body > 0x7fffffff)
		return 0;
	__u64 next = (__u64)buf->off + head_end + (__u64)body;
	return next < buf->len ? (__u32)next : 0;
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

/* A request arriving on a server connection. Returns 1 when no message follows in this
 * segment. A global subprogram, like each stage below: verified once, whatever led to it. */
__noinline int obsbpf_tc_request(struct obsbpf_conn *c, struct tc_buf *buf, __u32 i)
{
	if (!c || !buf)
		return 1;
	__u32 target = 0;
	__u32 ln = buf->n < OBSBPF_LINE_BUF ? buf->n : OBSBPF_LINE_BUF;
	int m = obsbpf_parse_method(buf->line.b, ln, &target);
	if (m < 0) {
		/* Only the stream's first bytes say what protocol it is: a later segment of a TLS or
		 * binary stream may start with any byte. */
		if (i == 0 && c->head == c->tail && buf->k.seq == c->rx_first_seq)
			classify_other(c, buf->line.b, ln);
		return 1;
	}
	if (i == 0 && seen_before(c, buf->k.seq, 0))
		return 1;
	c->proto = OBSBPF_PROTO_HTTP1;
	__u64 now = bpf_ktime_get_ns();
	struct obsbpf_trace_cfg *cfg = trace_config();
	__u32 props = cfg ? cfg->propagation : 0;
	tc_head_scan(buf, props);
	struct obsbpf_trace *t = &buf->t;
	__builtin_memset(t, 0, sizeof(*t));
	if (props && cfg)
		trace_incoming(cfg, &buf->fd.f, t);
	pending_push(c, now, (__u8)m, obsbpf_route_intern(&buf->line, ln, target, &c->route), t);
	/* RFC 9112 6.3: no Content-Length and not chunked: no body. Where the body ends, the next
	 * request starts: segments before it are body, whatever their first bytes look like. */
	__s64 body = buf->fd.h.body == BODY_UNKNOWN ? 0 : buf->fd.h.body;
	__u32 head_end = buf->fd.h.head_end;
	c->rx_next_valid = 0;
	if (buf->fd.h.body == BODY_CHUNKED)
		c->in_chunked = 1;
	else if (head_end && body <= 0x7fffffff) {
		c->rx_next_seq = buf->k.seq + buf->off + head_end + (__u32)body;
		c->rx_next_valid = 1;
	}
	__u32 next = next_message(buf, body);
	if (!next)
		return 1;
	buf->off = next;
	return 0;
}

/* A response: arriving on a client connection, or leaving a server one. Returns 1 when no
 * message follows in this segment. */
__noinline int obsbpf_tc_response(struct __sk_buff *skb, struct obsbpf_conn *c, struct tc_buf *buf, __u32 i)
{
	if (!c || !buf)
		return 1;
	__u32 ln = buf->n < OBSBPF_LINE_BUF ? buf->n : OBSBPF_LINE_BUF;
	int status = obsbpf_parse_status(buf->line.b, ln);
	__u32 egress = buf->egress;
	if (status < 0) {
		/* A server that speaks first with nothing asked is not HTTP (TLS answers a hello the
		 * ingress side does not parse). Client connections are classified by sk_msg. */
		if (i == 0 && egress && c->head == c->tail)
			classify_other(c, buf->line.b, ln);
		return 1;
	}
	if (i == 0 && seen_before(c, buf->k.seq, egress))
		return 1;
	struct obsbpf_pending *p = &buf->p;
	__builtin_memset(p, 0, sizeof(*p));
	__u8 interim = status < 200 && status != 101;
	if (!interim) {
		if (pending_pop(c, p) < 0) {
			stat_inc(OBSBPF_ST_RESP_UNMATCHED);
			return 1;
		}
		if (p->method != OBSBPF_M_UNSEEN)
			obsbpf_record(c, p, bpf_ktime_get_ns(), (__u32)status, &buf->k.a);
		/* After 101 Switching Protocols (WebSocket, h2c) or a 2xx to CONNECT (a tunnel) the
		 * connection no longer carries HTTP/1: nothing in it is parsed again, either way. */
		if (status == 101 || (p->method == OBSBPF_M_CONNECT && status < 300)) {
			c->proto = OBSBPF_PROTO_OTHER;
			stat_inc(OBSBPF_ST_CONN_UPGRADED);
			return 1;
		}
		/* Another response can follow in this segment only if a request is still waiting. */
		if (c->head == c->tail)
			return 1;
	}
	/* A lone response had only its status line loaded; an interim one (100 Continue) may be
	 * followed by the final response in this segment: its end is needed. */
	if (buf->n < TC_HEAD_MAX && buf->off + buf->n < buf->len && load_head(skb, buf) < 0)
		return 1;
	tc_head_scan(buf, 0);
	/* RFC 9112 6.3: no body after 1xx, 204, 304 and a HEAD request; without Content-Length a
	 * body runs to the close (or is chunked): nothing follows that we can find. */
	__s64 body = (interim || status == 204 || status == 304 || p->method == OBSBPF_M_HEAD)
		? 0
		: buf->fd.h.body;
	__u32 next = next_message(buf, body);
	if (!next)
		return 1;
	buf->off = next;
	return 0;
}

/* The messages of one segment: several pipelined requests, or responses, often arrive in one
 * segment. The segment's payload from off (want bytes at most) is loaded first. */
__noinline int obsbpf_tc_walk(struct __sk_buff *skb, struct obsbpf_conn *c, struct tc_buf *buf, __u32 off,
			      __u32 want)
{
	if (!c || !buf || off >= buf->len)
		return 0;
	__u32 n = buf->len - off < want ? buf->len - off : want;
	buf->off = off;
	if (load_at(skb, buf, off, n) < 0)
		return 0;
	for (__u32 i = 0; i < OBSBPF_PENDING; i++) {
		/* The next message of the segment: load its first bytes. */
		if (i > 0 && load_head(skb, buf) < 0)
			return 0;
		if (c->proto == OBSBPF_PROTO_TLS || c->proto == OBSBPF_PROTO_OTHER)
			return 0;
		int stop = c->dir == OBSBPF_DIR_SERVER && !buf->egress ? obsbpf_tc_request(c, buf, i)
								       : obsbpf_tc_response(skb, c, buf, i);
		if (stop)
			return 0;
	}
	return 0;
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
	struct tc_buf *buf = scratch();
	if (!buf)
		return TC_ACT_OK;
	__builtin_memset(&buf->k, 0, sizeof(buf->k));
	__u32 len = parse_pkt(skb, &buf->k, 0);
	if (!len || !may_start_http(skb, buf->k.payload_off))
		return TC_ACT_OK;

	/* Constant tuple sizes: the verifier wants the size bounded at the call. */
	struct bpf_sock *sk = buf->k.a.family == AF_INET
		? bpf_sk_lookup_tcp(skb, &buf->k.t, sizeof(buf->k.t.ipv4), BPF_F_CURRENT_NETNS, 0)
		: bpf_sk_lookup_tcp(skb, &buf->k.t, sizeof(buf->k.t.ipv6), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return TC_ACT_OK;
	struct obsbpf_conn *c = bpf_sk_storage_get(&conn_state, sk, 0, 0);
	if (c && c->proto != OBSBPF_PROTO_TLS && c->proto != OBSBPF_PROTO_OTHER) {
		/* A request's head (trace headers, its length); a response's status line, unless
		 * more requests wait on the connection and more responses may follow it. */
		__u32 want =
			c->dir == OBSBPF_DIR_SERVER || c->tail - c->head > 1 ? TC_HEAD_MAX : TC_STATUS_BYTES;
		buf->len = len;
		buf->egress = 0;
		obsbpf_tc_walk(skb, c, buf, body_before_request(c, buf->k.seq, len), want);
	}
	bpf_sk_release(sk);
	return TC_ACT_OK;
}

SEC("tc")
int obsbpf_tc_egress(struct __sk_buff *skb)
{
	struct tc_buf *buf = scratch();
	if (!buf)
		return TC_ACT_OK;
	__builtin_memset(&buf->k, 0, sizeof(buf->k));
	__u32 len = parse_pkt(skb, &buf->k, 1);
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
	if (!c || c->dir != OBSBPF_DIR_SERVER || c->proto == OBSBPF_PROTO_TLS ||
	    c->proto == OBSBPF_PROTO_OTHER)
		return TC_ACT_OK;
	/* Once the connection is known HTTP, only a status line ("HTTP/") starts a message. */
	__u8 first;
	if (c->proto == OBSBPF_PROTO_HTTP1 &&
	    (bpf_skb_load_bytes(skb, buf->k.payload_off, &first, 1) < 0 || first != 'H'))
		return TC_ACT_OK;
	/* The status line; the whole head when more requests wait (pipelined responses may share
	 * this segment). */
	buf->len = len;
	buf->egress = 1;
	obsbpf_tc_walk(skb, c, buf, 0, c->tail - c->head > 1 ? TC_HEAD_MAX : TC_STATUS_BYTES);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
