/* SPDX-License-Identifier: GPL-2.0 */
/* The TLS decoder's state, shared by its files: conn.c keeps the connections (one per process
 * and SSL *) and routes each call's bytes; http1.c parses HTTP/1.x with http-parser; h2feed.c
 * cuts HTTP/2 into the frame events user/h2 decodes. */
#ifndef OBSBPF_TLS_INTERNAL_H
#define OBSBPF_TLS_INTERNAL_H

#include "tls.h"
#include "util/index.h"

#include <http_parser.h>

#define TLS_PENDING   8	 /* requests awaiting their response (pipelining) */
#define TLS_FIELD_LEN 16 /* header names kept: host, traceparent */
#define TLS_VALUE_LEN H2_AUTHORITY_LEN

enum tls_kind {
	TLS_KIND_NEW = 0, /* no bytes yet */
	TLS_KIND_HTTP1,
	TLS_KIND_H2,
	TLS_KIND_OTHER, /* neither, or past an Upgrade or CONNECT: left alone */
};

/* A request being parsed, or awaiting its response. */
struct tls_req {
	uint64_t start_ns;
	bool head;    /* HEAD: its response has no body */
	bool connect; /* CONNECT: a 2xx answer makes the connection a tunnel */
	bool has_traceparent;
	uint8_t minor; /* HTTP/1.minor */
	char method[H2_METHOD_LEN];
	char path[H2_PATH_LEN];
	char authority[H2_AUTHORITY_LEN];
	struct obsbpf_trace parent;
	struct obsbpf_trace kernel;
};

/* One direction's http-parser and the header being read. */
struct tls_h1_dir {
	http_parser p;
	bool in_head;  /* between a message's first byte and its headers' end */
	bool lost;     /* bytes were refused: waiting for a call that starts a message */
	bool in_value; /* the last callback was a value (a name callback starts a new header) */
	char field[TLS_FIELD_LEN];
	size_t field_len; /* may exceed the buffer: such a name is none we keep */
	char value[TLS_VALUE_LEN];
	size_t value_len;
};

/* One direction of HTTP/2: where its bytes are in the frame layout. */
struct tls_h2_dir {
	uint32_t preface; /* client preface bytes still to skip */
	uint8_t hdr[OBSBPF_H2_FRAME_HDR];
	uint32_t hdr_len; /* of the next frame's header, collected so far */
	bool in_frame;	  /* inside a frame's payload */
	uint8_t type, flags;
	uint32_t stream, frame_len, off; /* off: payload bytes passed */
	uint8_t rst[4];			 /* RST_STREAM's payload, collected before its event */
	uint32_t n;			 /* events handed on */
	uint64_t frame_ts;
};

struct tls_tracker;

struct tls_conn {
	struct tls_tracker *t; /* (http-parser's callbacks get only the connection) */
	uint32_t tgid;
	uint32_t pod_id;
	uint64_t ssl;
	uint64_t id; /* the connection's number for the HTTP/2 decoder: above every socket cookie */
	uint64_t last_ns;
	enum tls_kind kind;
	uint8_t role; /* enum obsbpf_dir: the pod's, from the first bytes */
	bool tied;
	bool h2_dead;  /* the HTTP/2 decoder was told the connection is lost */
	bool h2_open;  /* the decoder was told of the connection */
	bool h2_addrs; /* and has its addresses */
	/* Its socket's close ends it: the reason (enum obsbpf_no_response) and time its unanswered
	 * requests end with; 0 when it is forgotten otherwise (idle, process or pod gone). */
	uint16_t close_reason;
	uint64_t close_ns;
	struct obsbpf_tls_sock sock;
	/* HTTP/1.x */
	struct tls_h1_dir h1[2]; /* [1]: requests, [0]: responses */
	struct tls_req cur;	 /* the request being parsed */
	struct tls_req pending[TLS_PENDING];
	unsigned pend_head, pend_count;
	uint16_t status;
	bool resp_begun; /* the front request's final response has begun */
	bool upgrade;	 /* a request asked for Upgrade: its 101 ends the parsing */
	/* HTTP/2 */
	struct tls_h2_dir h2[2]; /* [1]: the client's bytes */
};

/* A socket that closed lately. A call's event is sent when the call returns, and the peer's
 * answer to what it sent (a reset, a FIN) can close the socket before that: such a late call
 * ends its connection as the close would have. Socket cookies are never reused. */
#define TLS_RECENT_CLOSED 64
struct tls_closed_sock {
	uint64_t cookie;
	uint64_t ns;
	uint16_t reason;
};

struct tls_tracker {
	unsigned max_conns;
	h2_exchange_fn fn;
	void *arg;
	struct h2_tracker *h2;
	tls_forget_fn forget;
	void *forget_arg;
	struct tls_conn **conns;
	size_t nconns, cap;
	struct index ix;
	uint64_t next_id;
	struct tls_stats st;
	struct tls_closed_sock closed[TLS_RECENT_CLOSED];
	unsigned closed_next;
	/* The event being handed on (http-parser's callbacks see it through the connection). */
	const struct obsbpf_tls_event *ev;
	size_t ev_off; /* where in its data the parser is */
};

/* The time a call's bytes count from: a request the pod sends leaves when the call is made;
 * everything else is there when the call returns. */
static inline uint64_t tls_call_ts(const struct tls_conn *c, const struct obsbpf_tls_event *e)
{
	bool sends_request = c->role == OBSBPF_DIR_CLIENT && e->op == OBSBPF_TLS_WRITE;
	return sends_request ? e->call_ns : e->ts_ns;
}

/* http1.c */
void tls_h1_init(struct tls_conn *c);
/* The call's bytes (cap of them captured, len moved) in direction req (1: the requests). */
void tls_h1_feed(struct tls_tracker *t, struct tls_conn *c, const struct obsbpf_tls_event *e, bool req);
/* The connection closed: a response read to the close ends there; with a close reason, the
 * requests whose response never began end as unanswered. */
void tls_h1_close(struct tls_tracker *t, struct tls_conn *c);

/* h2feed.c */
void tls_h2_init(struct tls_conn *c);
void tls_h2_feed(struct tls_tracker *t, struct tls_conn *c, const struct obsbpf_tls_event *e,
		 bool from_client);
/* The decoder forgets the connection, ending its unanswered streams with the close reason. */
void tls_h2_close(struct tls_tracker *t, struct tls_conn *c);

#endif
