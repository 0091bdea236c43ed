/* SPDX-License-Identifier: GPL-2.0 */
/* Structs and constants shared by the BPF programs and the agent: map keys and values,
 * ring buffer events, counters. Both sides include this file and nothing else defines them. */
#ifndef OBSBPF_TYPES_H
#define OBSBPF_TYPES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define OBSBPF_MAX_PODS	      1024
#define OBSBPF_ROUTE_LEN      64	  /* templated path kept per route */
#define OBSBPF_ROUTE_OVERFLOW 0xffffffffu /* route id once the route table is full */
#define OBSBPF_PENDING	      4		  /* requests in flight per connection (pipelining depth) */

/* Histogram upper bounds in nanoseconds; the last bucket is +Inf. The union of the two sets the
 * agent renders (--histogram-buckets): OpenTelemetry's advised boundaries for
 * http.*.request.duration (0.005 ... 10 s, the default) and the fine low ones (0.0001 ... 10 s)
 * for sub-millisecond in-cluster requests. Every bound rendered is one the kernel counts at, so
 * either set is exact. */
#define OBSBPF_HIST_BOUNDS                                                                             \
	100000ull, 250000ull, 500000ull, 1000000ull, 2500000ull, 5000000ull, 10000000ull, 25000000ull, \
		50000000ull, 75000000ull, 100000000ull, 250000000ull, 500000000ull, 750000000ull,      \
		1000000000ull, 2500000000ull, 5000000000ull, 7500000000ull, 10000000000ull
#define OBSBPF_HIST_NBOUNDS 19
#define OBSBPF_HIST_BUCKETS (OBSBPF_HIST_NBOUNDS + 1)

enum obsbpf_dir {
	OBSBPF_DIR_SERVER = 0, /* the pod answered a request */
	OBSBPF_DIR_CLIENT = 1, /* the pod sent a request */
};

/* OpenTelemetry's known methods; anything else is reported as "_OTHER". */
enum obsbpf_method {
	OBSBPF_M_OTHER = 0,
	OBSBPF_M_GET,
	OBSBPF_M_HEAD,
	OBSBPF_M_POST,
	OBSBPF_M_PUT,
	OBSBPF_M_DELETE,
	OBSBPF_M_CONNECT,
	OBSBPF_M_OPTIONS,
	OBSBPF_M_TRACE,
	OBSBPF_M_PATCH,
	OBSBPF_M_MAX,
	/* Held in the FIFO for a request sk_msg could not parse whole, so that its response is
	 * matched to it; not recorded. */
	OBSBPF_M_UNSEEN = 0xff,
};

/* What a connection carries, decided from its first payload bytes. */
enum obsbpf_proto {
	OBSBPF_PROTO_UNKNOWN = 0,
	OBSBPF_PROTO_HTTP1,
	OBSBPF_PROTO_TLS,
	OBSBPF_PROTO_OTHER,
	OBSBPF_PROTO_HTTP2, /* prior knowledge: the client's preface, followed frame by frame */
};

/* Why a client connection leaves pod_socks: sk_msg has nothing left to do on it, and a socket in
 * a sockmap receives through tcp_bpf, whose blocking reads can fail with EAGAIN (docs/kernel.md).
 * sk_msg asks (an event in release_events), the release iterator takes it out. */
enum obsbpf_release {
	OBSBPF_REL_NONE = 0,
	OBSBPF_REL_TLS,	     /* classified TLS */
	OBSBPF_REL_OTHER,    /* not HTTP, or no longer followed (too many requests unanswered) */
	OBSBPF_REL_UPGRADED, /* left HTTP/1: 101, or a 2xx to CONNECT */
	OBSBPF_REL_H2,	     /* HTTP/2 with nothing to insert: tracing off, the app sends its own
			      * traceparent, or sk_msg lost the frames */
	OBSBPF_REL_MAX,
};

/* conn.released: where the connection stands. */
enum obsbpf_released {
	OBSBPF_RELEASE_NO = 0,
	OBSBPF_RELEASE_ASKED, /* the event went out; the iterator takes it out when it safely can */
	OBSBPF_RELEASE_DONE,  /* out of pod_socks (or never in it: the sockhash was full) */
};

/* Ring buffer release_events: one per connection that asks to leave pod_socks. */
struct obsbpf_release_event {
	__u64 cookie;
	__u32 pod_id;
	__u8 reason; /* enum obsbpf_release */
	__u8 pad[3];
};

/* The status of an exchange whose request got no response: its connection reached TCP_CLOSE
 * with it unanswered (bpf/sockops.bpf.c). HTTP statuses have three digits, so these never
 * collide with one; rendered with no http_response_status_code and as error_type. Named from the
 * pod's side of the connection, whichever side of the request it is on. */
enum obsbpf_no_response {
	OBSBPF_STATUS_TIMEOUT = 1000, /* the pod ended the connection first ("timeout") */
	OBSBPF_STATUS_CONN_RESET,     /* the peer reset it, or the kernel aborted it ("connection_reset") */
	OBSBPF_STATUS_CONN_CLOSED,    /* the peer closed it first ("connection_closed") */
	OBSBPF_STATUS_NO_RESPONSE_MAX,
};
#define OBSBPF_STATUS_NO_RESPONSE OBSBPF_STATUS_TIMEOUT /* the first of them */

/* Map http_hist: key -> per-CPU obsbpf_hist_val. Map graph_hist (the service graph's server
 * side) has the same types: dir server, the client's address in family/peer (peer_port 0),
 * route_id and method 0, status 1 for a failed exchange (5xx or no response), else 0. */
struct obsbpf_hist_key {
	__u32 pod_id;
	__u32 route_id;
	__u16 status; /* the response's, or enum obsbpf_no_response */
	__u8 method;
	__u8 dir;
	__u8 http10;	 /* the request line said HTTP/1.0 (else HTTP/1.1) */
	__u8 family;	 /* client series: the server's address family; 0 on server series */
	__u16 peer_port; /* client series: the server's port (server.port) */
	__u8 peer[16];	 /* client series: the server's address (server.address), as in obsbpf_addrs */
};

struct obsbpf_hist_val {
	__u64 count;
	__u64 sum_ns;
	__u64 buckets[OBSBPF_HIST_BUCKETS]; /* not cumulative; the agent accumulates */
	__u64 last_event_ns;		    /* the kernel's own: when this series last sent a sampled event */
};

/* Map routes: route id (hash of the templated path) -> the templated path. */
struct obsbpf_route {
	char path[OBSBPF_ROUTE_LEN];
};

/* W3C trace-flags bit 0: the trace is sampled (its spans are exported). */
#define OBSBPF_TRACE_SAMPLED 0x01

/* Where a span's trace id came from. */
enum obsbpf_trace_origin {
	OBSBPF_TO_NONE = 0, /* no trace context: tracing off, or the message could not carry one */
	OBSBPF_TO_NEW,	    /* a new trace started at this span */
	OBSBPF_TO_HEADER,   /* continued from a valid trace header in the message */
	OBSBPF_TO_THREAD,   /* continued in-process: the sending thread was serving a traced request */
};

/* Trace context of one span. All-zero parent_id: a root span. */
struct obsbpf_trace {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_id[8];
	__u8 flags;    /* W3C trace-flags (OBSBPF_TRACE_SAMPLED) */
	__u8 origin;   /* enum obsbpf_trace_origin */
	__u8 injected; /* client spans: sk_msg inserted the header(s) into the request */
	__u8 pad[5];
};

/* Header styles (--propagation), a bit mask. */
#define OBSBPF_PROP_W3C	   0x1 /* traceparent (tracestate is passed through untouched) */
#define OBSBPF_PROP_XTRACE 0x2 /* x-trace-id / x-span-id / x-parent-span */
#define OBSBPF_PROP_B3	   0x4 /* b3 single header */

/* --propagate: which contexts get headers inserted into outgoing requests. */
enum obsbpf_propagate {
	OBSBPF_PROPAGATE_ALWAYS = 0, /* every context (W3C: an unsampled one is propagated too) */
	OBSBPF_PROPAGATE_SAMPLED,    /* only sampled ones: an unsampled request is not grown */
};

/* Map trace_cfg (array, one entry): how the kernel propagates and samples. */
struct obsbpf_trace_cfg {
	__u32 propagation;	/* OBSBPF_PROP_* mask; 0: tracing off */
	__u32 propagate;	/* enum obsbpf_propagate (--propagate) */
	__u64 sample_threshold; /* a new trace is sampled when bpf_get_prandom_u32() < this */
};

/* Map events_cfg (array, one entry): which exchanges get a ring buffer event (every). */
enum obsbpf_events_mode {
	/* Nobody wants each one: only traced exchanges (their trace id is an exemplar), at most
	 * one per sample_gap_ns for each histogram series on each CPU: exemplars are samples, and
	 * the rest would be read and dropped. */
	OBSBPF_EVENTS_SAMPLES = 0,
	OBSBPF_EVENTS_EVERY, /* someone observes: every exchange */
	/* Spans are exported: every exchange of a sampled trace (a span, maybe an exemplar); an
	 * unsampled one would only be counted by the agent, so it is counted here
	 * (OBSBPF_ST_EVENTS_UNSAMPLED) and costs neither the ring nor the agent. */
	OBSBPF_EVENTS_SAMPLED,
};
struct obsbpf_events_cfg {
	__u32 every; /* enum obsbpf_events_mode */
	__u32 pad;
	__u64 sample_gap_ns;
};

/* Map inject_to (LPM trie): destinations that may receive injected headers. IPv4 addresses
 * are stored IPv4-mapped (::ffff:a.b.c.d, prefix length + 96). */
struct obsbpf_cidr_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* One request waiting for its response on a connection. */
struct obsbpf_pending {
	__u64 start_ns;
	__u32 route_id;
	__u8 method;
	__u8 http10; /* the request line said HTTP/1.0 */
	__u8 pad[2];
	__u32 tid; /* the thread that sent the request (client: sk_msg runs in it) or, once popped
		    * by tc egress, the response (server); 0: unknown */
	__u32 pad2;
	struct obsbpf_trace trace;
};

/* A connection's endpoints, as seen from the pod. Ports in host byte order. */
struct obsbpf_addrs {
	__u16 family; /* AF_INET or AF_INET6 */
	__u16 local_port;
	__u16 remote_port;
	__u16 pad;
	__u8 local[16];
	__u8 remote[16];
};

/* The route of the last request on a connection, with the bytes its path was read from: a
 * request whose first OBSBPF_ROUTE_CACHE_BYTES after the method are the same (the path ends
 * within them) has the same route, without walking and hashing the path again. */
#define OBSBPF_ROUTE_CACHE_BYTES 32
struct obsbpf_route_cache {
	__u64 raw[OBSBPF_ROUTE_CACHE_BYTES / 8];
	__u32 id;
	__u32 valid;
};

/* One direction of an HTTP/2 connection (in struct obsbpf_conn: [1] the client's frames, [0]
 * the server's). pos is the TCP sequence number of the first byte not yet followed; frame_end
 * where the current frame's payload ends (pos == frame_end: at a frame header, of which
 * hdr_have bytes arrived at the end of the last segment). n numbers the direction's events. */
struct obsbpf_h2_side {
	__u32 pos;
	__u32 frame_end;
	__u32 stream;
	__u32 frame_len;
	__u32 n;
	__u8 type;
	__u8 flags;
	__u8 sync; /* 1: followed */
	__u8 hdr_have;
	__u8 hdr[9 /* a frame header */];
	__u8 pad[3];
	__u32 last_stream; /* the client's: the highest stream id its HEADERS opened */
};

/* sk_msg's view of a client connection's HTTP/2 frames as the app sends them (write_seq space,
 * which is TCP's, injected bytes included): where to append trace fields to a request's header
 * block. peer_max_frame is the server's SETTINGS_MAX_FRAME_SIZE (tc ingress reads it). */
struct obsbpf_h2_tx {
	__u32 pos;	 /* write_seq of the first byte not yet walked */
	__u32 frame_end; /* write_seq where the current frame ends */
	__u32 last_stream;
	__u32 peer_max_frame; /* 0: not seen yet, the protocol's 16384 */
	__u32 off;	      /* where the walk is in the current send */
	__u8 hdr_have;
	__u8 hdr[9];
	__u8 sync;	  /* 1: followed; 0: lost (nothing inserted from then on) */
	__u8 app_tp;	  /* the app sends its own traceparent here: never insert one */
	__u8 req_pending; /* the walk stopped at a request's HEADERS (at req_hdr in the send) */
	__u8 req_none;	  /* this send's requests get no header from here on */
	__u8 pushed;	  /* fields were inserted into this send */
	__u8 pad;
	__u32 req_hdr;
};

/* Map conn_state (sk_storage): one per socket of an attached pod, created by sockops. */
struct obsbpf_conn {
	__u32 pod_id;
	__u8 dir;	  /* enum obsbpf_dir: accepted sockets serve, connected sockets are clients */
	__u8 proto;	  /* enum obsbpf_proto */
	__u8 at_boundary; /* sk_msg: this send starts where apply_bytes ended the last message */
	__u8 may_inject;  /* client: the peer is in the --inject-to allow-list */
	__u32 head;	  /* pending FIFO: the request side writes tail, the response side head */
	__u32 tail;
	__u32 rx_start_seq; /* TCP seq of the last message start seen by tc: drops retransmits */
	__u32 rx_seq_valid;
	__u32 rx_first_seq; /* TCP seq of the first payload byte the pod receives */
	__u8 in_chunked;    /* a chunked request body is passing; no parsing until it is answered */
	__u8 rx_next_valid; /* tc, server: rx_next_seq is known */
	__u8 msg_wait;	    /* sk_msg, client: where the last request ends is not known (chunked
			     * body, head not parsed whole, CONNECT, Upgrade): nothing is parsed
			     * until every request sent is answered */
	__u8 release;	    /* enum obsbpf_release: why it asks to leave pod_socks (tc sets
			     * UPGRADED, sk_msg the rest when it asks) */
	__u8 tls_seen;	    /* TLS: an SSL call was seen moving this connection's bytes (uprobes) */
	__u8 adopted;	    /* client, found established at attach (bpf/adopt.bpf.c): no header is
			     * inserted until a request sk_msg parsed has been answered */
	__u32 rx_next_seq;  /* tc, server: TCP seq where the next request starts (after the body) */
	__u32 msg_next_seq; /* sk_msg, client: write_seq where the next request must start, when
			     * at_boundary: apply_bytes alone can drift (partial sends) */
	__u32 tx_start_seq; /* tc egress, server: TCP seq of the last response start sent */
	__u32 tx_seq_valid;
	struct obsbpf_addrs addrs;
	struct obsbpf_route_cache route; /* written by the hook that sees requests */
	struct obsbpf_pending q[OBSBPF_PENDING];
	/* sk_msg, client: the first bytes of the send being parsed. Here rather than on sk_msg's
	 * stack (the call chain's 512 bytes are short) or in a per-CPU buffer (sk_msg can be
	 * preempted by another sender on its CPU): a socket's sends are serialized by its lock. */
	__u8 msg_line[128];
	__u64 cookie;	    /* the socket's cookie: names the connection in h2_events */
	__u32 tx_first_seq; /* TCP seq of the first payload byte the pod sends */
	__u8 released;	    /* enum obsbpf_released */
	__u8 pad3[3];
	struct obsbpf_h2_side h2[2]; /* HTTP/2: [1] the client's frames, [0] the server's */
	struct obsbpf_h2_tx h2tx;    /* HTTP/2, client: sk_msg's walk of the frames sent */
	/* HTTP/2: a span context at hand. Server: the newest request's (the thread hook binds the
	 * reading thread to it). Client: the request sk_msg is sending (off the call stack, which
	 * 6.1's verifier allows 512 bytes over sk_msg's eight frames). */
	struct obsbpf_trace h2_trace;
	/* TLS: the SSL * (and its process) last tied to the connection, for the close event: user
	 * space may have seen it only in calls made before the tie. */
	__u64 tls_ssl;
	__u32 tls_tgid;
	__u32 tls_close; /* TLS: the close's reason, once closed (a later tie sends the event again) */
};

/* Map stats (per-CPU array): counters the agent exposes as obsbpf_* metrics. */
enum obsbpf_stat {
	OBSBPF_ST_CONN_OPEN_SERVER = 0, /* connections accepted by the pod */
	OBSBPF_ST_CONN_OPEN_CLIENT,	/* connections the pod opened */
	OBSBPF_ST_CONN_CLOSE_SERVER,
	OBSBPF_ST_CONN_CLOSE_CLIENT,
	OBSBPF_ST_CONN_TLS,	       /* connections classified TLS: passed through, not parsed */
	OBSBPF_ST_CONN_OTHER,	       /* connections with a non-HTTP protocol */
	OBSBPF_ST_MALFORMED,	       /* HTTP messages whose start line could not be parsed */
	OBSBPF_ST_RESP_UNMATCHED,      /* responses with no request waiting for them */
	OBSBPF_ST_PENDING_FULL,	       /* requests not timed: too many in flight on one connection */
	OBSBPF_ST_EVENTS_DROPPED,      /* request events lost: ring buffer full */
	OBSBPF_ST_HEAD_UNSCANNED,      /* message heads longer than the scan budget */
	OBSBPF_ST_RETRANSMIT,	       /* message starts seen twice by tc (retransmits), ignored */
	OBSBPF_ST_TRACE_INJECTED,      /* requests that got trace headers inserted by sk_msg */
	OBSBPF_ST_TRACE_CONTINUED,     /* messages whose valid trace header was continued */
	OBSBPF_ST_TRACE_INVALID,       /* trace headers that were invalid, treated as absent */
	OBSBPF_ST_TRACE_THREAD,	       /* requests continuing the trace their thread serves */
	OBSBPF_ST_TRACE_UNCORRELATED,  /* requests sent while no served request was known: new trace */
	OBSBPF_ST_TRACE_NOT_ALLOWED,   /* requests to destinations outside --inject-to: no header */
	OBSBPF_ST_TRACE_INJECT_FAILED, /* header insertions the kernel refused: passed unchanged */
	OBSBPF_ST_TRACE_HEAD_SPLIT,    /* request heads not seen whole in one send: no header */
	OBSBPF_ST_CONN_UPGRADED,       /* connections that left HTTP/1: 101, or 2xx to CONNECT */
	OBSBPF_ST_MSG_DESYNC,	       /* sends where a request should have started, but the stream
					 * was elsewhere: nothing parsed until all is answered */
	OBSBPF_ST_CONN_UNTRACKED,      /* client connections not in the sockhash (full): untouched */
	OBSBPF_ST_CONN_H2,	       /* connections found to carry HTTP/2 (prior knowledge) */
	OBSBPF_ST_H2_LOST_GAP,	       /* HTTP/2 connections no longer followed: enum obsbpf_h2_lost */
	OBSBPF_ST_H2_LOST_MALFORMED,
	OBSBPF_ST_H2_LOST_EVENTS,
	OBSBPF_ST_H2_LOST_BUDGET,
	OBSBPF_ST_TRACE_FRAME_SIZE, /* HTTP/2 requests whose HEADERS frame the fields would grow past
				     * the server's SETTINGS_MAX_FRAME_SIZE: no header */
	OBSBPF_ST_H2_TX_DESYNC,	    /* HTTP/2 client connections whose sends sk_msg stopped following
				     * (a send where it did not expect one): no header inserted since */
	OBSBPF_ST_RELEASED_TLS,	    /* client connections taken out of pod_socks: enum obsbpf_release */
	OBSBPF_ST_RELEASED_OTHER,
	OBSBPF_ST_RELEASED_UPGRADED,
	OBSBPF_ST_RELEASED_H2,
	OBSBPF_ST_RECV_EAGAIN,	      /* blocking reads without a timeout on client connections in pod_socks
				* that returned EAGAIN (tcp_bpf's bug; seen by the recv hook) */
	OBSBPF_ST_CONN_TLS_VISIBLE,   /* TLS connections whose plaintext the library probes see */
	OBSBPF_ST_TLS_EVENTS_DROPPED, /* SSL calls not handed on: the tls_events ring was full */
	OBSBPF_ST_TLS_NOT_INJECTED,   /* requests sent over TLS: given a span, no header (the
				       * plaintext is never written) */
	OBSBPF_ST_ADOPTED_SERVER,     /* connections established before attach, followed from attach on */
	OBSBPF_ST_ADOPTED_CLIENT,
	OBSBPF_ST_ADOPT_BUSY,	     /* such client connections with bytes in flight: left alone */
	OBSBPF_ST_TRACE_ADOPTED,     /* requests on an adopted connection before its first answer: no
				       * header (the send may be a body, not a request) */
	OBSBPF_ST_TRACE_NOT_SAMPLED, /* --propagate sampled: requests of unsampled traces, which
				       * would have needed an insertion: no header */
	OBSBPF_ST_EVENTS_UNSAMPLED,  /* exchanges of unsampled traces given no event
				       * (OBSBPF_EVENTS_SAMPLED): the agent counts them as not sampled */
	OBSBPF_ST_GRAPH_FULL,	     /* served exchanges whose client address found graph_hist full:
				       * counted under the pod's address-less service graph key */
	OBSBPF_ST_MAX,
};

/* Ring buffer http_events: one per completed exchange. */
struct obsbpf_http_event {
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 end_ns;
	__u32 pod_id;
	__u32 route_id;
	__u16 status; /* the response's, or enum obsbpf_no_response (end_ns: the close) */
	__u8 method;
	__u8 dir;
	struct obsbpf_addrs addrs;
	struct obsbpf_trace trace; /* origin OBSBPF_TO_NONE: no span */
	__u32 tid;		   /* thread that sent the request (client) or the response (server) */
	__u8 http10;		   /* the request line said HTTP/1.0 */
	__u8 pad[3];
};

#endif
