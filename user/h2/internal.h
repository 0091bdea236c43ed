/* SPDX-License-Identifier: GPL-2.0 */
/* What the HTTP/2 decoder's files share: conn.c (the connection table and the events' entry),
 * frame.c (frames put back together, header blocks assembled), hpack.c (blocks decoded with
 * nghttp2), stream.c (request streams to exchanges). */
#ifndef OBSBPF_H2_INTERNAL_H
#define OBSBPF_H2_INTERNAL_H

#include "h2.h"
#include "util/index.h"

#include <nghttp2/nghttp2.h>

/* A growing byte buffer bounded by the caller. */
struct h2_bytes {
	uint8_t *b;
	size_t len, cap;
};
/* Appends n bytes unless that makes more than max. Returns 0, -E2BIG or -ENOMEM. */
int h2_bytes_add(struct h2_bytes *x, const void *p, size_t n, size_t max);
void h2_bytes_free(struct h2_bytes *x);

/* The fields of one decoded header block that obsbpf reports. */
struct h2_fields {
	char method[H2_METHOD_LEN];
	char path[H2_PATH_LEN];
	char authority[H2_AUTHORITY_LEN];
	char grpc_message[H2_MESSAGE_LEN];
	uint16_t status;     /* 0: no :status */
	int16_t grpc_status; /* -1: no grpc-status */
	bool grpc;	     /* content-type application/grpc, or application/grpc+proto etc. */
	bool has_traceparent;
	struct obsbpf_trace parent;
};

/* One direction of a connection: the frame being collected (a payload user space needs whole)
 * and the header block being assembled from HEADERS/PUSH_PROMISE and CONTINUATION frames. */
struct h2_dir {
	nghttp2_hd_inflater *inf; /* created with the first block */
	uint32_t table_max;	  /* the dynamic table the other side allowed (SETTINGS) */
	uint32_t next_n;	  /* the kernel's next event number for this direction */
	/* the frame */
	bool collecting;
	uint8_t type, flags;
	uint32_t stream, frame_len, seq0; /* seq0: TCP seq of the payload's first byte */
	uint64_t frame_ts;
	struct obsbpf_trace frame_trace; /* the kernel's span context, on a request's HEADERS */
	struct h2_bytes payload;
	/* the header block */
	bool in_block;
	uint8_t block_type;
	bool block_end_stream;
	uint32_t block_stream;
	uint64_t block_ts;
	struct obsbpf_trace block_trace; /* the kernel's, from the block's first frame */
	struct h2_bytes block;
};

struct h2_stream {
	uint32_t id;
	uint64_t start_ns;
	bool req_done;
	struct h2_fields req;
	struct obsbpf_trace kernel;
	uint16_t status;
	int16_t grpc_status;
	uint16_t closed; /* a gRPC call the close ended: why (enum obsbpf_no_response) */
	char grpc_message[H2_MESSAGE_LEN];
};

struct h2_conn {
	uint64_t cookie;
	uint32_t pod_id;
	uint8_t dir;
	bool dead; /* no longer decoded (a reason was counted): its events are ignored until CLOSE */
	bool tls;  /* fed by the TLS decoder (its OPEN event's flags) */
	bool has_addrs;
	struct obsbpf_addrs addrs;
	struct h2_dir d[2]; /* [1]: the client's frames, [0]: the server's */
	struct h2_stream *streams;
	size_t nstreams, cap_streams;
};

struct h2_tracker {
	struct h2_limits lim;
	h2_exchange_fn fn;
	void *arg;
	struct h2_conn **conns;
	size_t nconns, cap_conns;
	size_t live; /* conns not dead */
	/* conns not dead, per pod (few pods: a small array) */
	struct {
		uint32_t pod_id;
		uint32_t live;
	} * pods;
	size_t npods, cap_pods;
	struct index ix;
	struct h2_stats st;
};

/* conn.c: stops decoding c (once), counting why. */
void h2_conn_drop(struct h2_tracker *t, struct h2_conn *c, enum h2_drop why);

/* frame.c: a FRAME or MORE event of direction fc of c. */
void h2_frame_event(struct h2_tracker *t, struct h2_conn *c, const struct obsbpf_h2_event *e);

/* hpack.c: decodes a whole header block with d's inflater into f. Returns 0 or -1 (an HPACK
 * error: the direction's state is lost). */
int h2_hpack_decode(struct h2_dir *d, const uint8_t *b, size_t len, struct h2_fields *f);
/* Applies a SETTINGS_HEADER_TABLE_SIZE the receiving side advertised. */
void h2_hpack_table_size(struct h2_dir *d, uint32_t size, uint32_t limit);

/* stream.c: what a complete header block, an END_STREAM DATA frame or a RST_STREAM means. */
void h2_stream_headers(struct h2_tracker *t, struct h2_conn *c, uint32_t fc, uint32_t stream, bool end_stream,
		       uint64_t ts, const struct h2_fields *f, const struct obsbpf_trace *kernel);
void h2_stream_data_end(struct h2_tracker *t, struct h2_conn *c, uint32_t fc, uint32_t stream, uint64_t ts);
void h2_stream_reset(struct h2_tracker *t, struct h2_conn *c, uint32_t stream, uint32_t code, uint64_t ts);
/* Forgets the streams of a connection that goes, counting those left open. */
void h2_streams_clear(struct h2_tracker *t, struct h2_conn *c);
/* The connection closed, for why (enum obsbpf_no_response): plain HTTP/2 requests that got no
 * response headers end at end_ns with why as their status, gRPC calls with the status their
 * libraries give a call the close cut short; plain responses under way stay unfinished. */
void h2_streams_unanswered(struct h2_tracker *t, struct h2_conn *c, uint16_t why, uint64_t end_ns);

#endif
