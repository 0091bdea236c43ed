/* SPDX-License-Identifier: GPL-2.0 */
/* HTTP/2 decoding for the connections the kernel follows (include/obsbpf/h2.h): the frames'
 * events of each connection and direction are put back together into header blocks, decoded
 * with nghttp2's HPACK inflater (one per connection and direction, as the protocol's state
 * is), and each request stream ends as one exchange: method, path, authority, status, gRPC
 * status, trace context, and the kernel's timestamps. Events may come from any source that
 * numbers and times frames the same way (tc today; TLS uprobes can feed the same code).
 * Single-threaded, like the event loop that owns it. */
#ifndef OBSBPF_H2_H_USER
#define OBSBPF_H2_H_USER

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <obsbpf/h2.h>

#define H2_METHOD_LEN	 16
#define H2_PATH_LEN	 256 /* longer paths are cut (the route and rpc method come from it) */
#define H2_AUTHORITY_LEN 128
#define H2_MESSAGE_LEN	 128

/* One request stream that ended: its response ended the stream (END_STREAM), or the stream was
 * reset. Strings are NUL-terminated, "" when absent. The TLS decoder (user/tls) hands its
 * HTTP/1.x exchanges on in the same form (version 1). */
struct h2_exchange {
	uint64_t start_ns; /* CLOCK_MONOTONIC: the request's first HEADERS */
	uint64_t end_ns;   /* the response's END_STREAM, or the RST_STREAM */
	uint64_t conn;
	uint32_t pod_id;
	uint32_t stream;
	uint8_t dir;	     /* the pod's role: enum obsbpf_dir */
	bool grpc;	     /* content-type application/grpc* */
	bool reset;	     /* ended by RST_STREAM (rst_code) */
	bool has_addrs;	     /* addrs known (the connection's OPEN event arrived) */
	bool tls;	     /* seen through the TLS library (url.scheme https) */
	uint8_t version;     /* HTTP major version: 2, or 1 for HTTP/1.x over TLS */
	uint8_t minor;	     /* HTTP/1.minor */
	uint16_t status;     /* :status, 0 when no response headers arrived */
	int16_t grpc_status; /* grpc-status of the trailers, or derived (see h2_grpc_status); -1: none */
	uint16_t closed;     /* a gRPC call the connection's close ended: why (enum obsbpf_no_response) */
	uint32_t rst_code;
	char method[H2_METHOD_LEN];
	char path[H2_PATH_LEN];
	char authority[H2_AUTHORITY_LEN];
	char grpc_message[H2_MESSAGE_LEN];
	bool has_traceparent;	    /* the request carried a valid traceparent: in parent */
	struct obsbpf_trace parent; /* its trace id, span id (as parent_id) and flags */
	struct obsbpf_trace kernel; /* the span context the kernel gave the request (origin NONE:
				     * tracing off, or the kernel did not see it as a request) */
	struct obsbpf_addrs addrs;
};

typedef void (*h2_exchange_fn)(void *arg, const struct h2_exchange *x);

struct h2_limits {
	unsigned max_conns;   /* connections decoded at once per pod; more are left alone, counted */
	unsigned max_streams; /* open streams per connection; more are not measured, counted */
	unsigned max_block;   /* bytes of one header block (HEADERS + CONTINUATION) */
	unsigned max_table;   /* HPACK dynamic table per direction, whatever SETTINGS allow */
};
#define H2_DEFAULT_LIMITS ((struct h2_limits){ 4096, 256, 65536, 65536 })

/* Why a connection stopped being decoded. The first four are the kernel's (enum
 * obsbpf_h2_lost, same order); the rest are found here. */
enum h2_drop {
	H2_DROP_GAP = 0,
	H2_DROP_MALFORMED,
	H2_DROP_EVENTS,
	H2_DROP_BUDGET,
	H2_DROP_HPACK,	  /* a header block nghttp2 could not decode */
	H2_DROP_BLOCK,	  /* a header block longer than max_block */
	H2_DROP_SEQUENCE, /* frames not as RFC 9113 orders them (a CONTINUATION out of place) */
	H2_DROP_LIMIT,	  /* max_conns connections were decoded already */
	H2_DROP_MAX,
};
const char *h2_drop_name(enum h2_drop d);

struct h2_stats {
	uint64_t conns;		       /* connections decoded now */
	uint64_t opened;	       /* connections seen since start */
	uint64_t dropped[H2_DROP_MAX]; /* connections no longer decoded, by reason */
	uint64_t streams_untracked;    /* request streams beyond max_streams: not measured */
	uint64_t streams_unfinished;   /* streams still open when their connection went */
	uint64_t exchanges;	       /* exchanges handed on */
};

struct h2_tracker;

/* fn sees every exchange. NULL on out of memory. */
struct h2_tracker *h2_tracker_new(const struct h2_limits *l, h2_exchange_fn fn, void *arg);
void h2_tracker_free(struct h2_tracker *t);
/* One event of ring buffer h2_events (len bytes). */
void h2_tracker_event(struct h2_tracker *t, const void *data, size_t len);
/* The pod went: its connections are forgotten. */
void h2_tracker_forget_pod(struct h2_tracker *t, uint32_t pod_id);
const struct h2_stats *h2_tracker_stats(const struct h2_tracker *t);

/* The gRPC status of an exchange of a gRPC request: grpc-status when the response carried
 * one; else from the reset code or the HTTP status (gRPC's PROTOCOL-HTTP2.md mappings). */
int h2_grpc_status(const struct h2_exchange *x);
/* "OK", "CANCELLED", ... "UNAUTHENTICATED"; "UNKNOWN" outside 0..16. */
const char *h2_grpc_code_name(int code);

#endif
