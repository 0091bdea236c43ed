/* SPDX-License-Identifier: GPL-2.0 */
/* HTTP/2 as the kernel follows it and hands it on: per-direction frame sync in the connection's
 * state, and the events of ring buffer h2_events. The kernel follows frame boundaries only;
 * header blocks are decoded (HPACK) in user space, which needs every block of a connection in
 * order: a lost one ends the connection's parsing. Frame layout: RFC 9113 section 4.1. */
#ifndef OBSBPF_H2_H
#define OBSBPF_H2_H

#include "types.h"

#define OBSBPF_H2_PREFACE     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define OBSBPF_H2_PREFACE_LEN 24
#define OBSBPF_H2_FRAME_HDR   9
#define OBSBPF_H2_CHUNK	      256 /* payload bytes per event */
/* Steps (a frame header, or a piece of payload) followed per segment: a 64 KiB segment of empty
 * frames is 7282 headers; more than this and the connection is given up (counted). */
#define OBSBPF_H2_STEPS 16384

enum obsbpf_h2_type {
	OBSBPF_H2_DATA = 0,
	OBSBPF_H2_HEADERS = 1,
	OBSBPF_H2_PRIORITY = 2,
	OBSBPF_H2_RST_STREAM = 3,
	OBSBPF_H2_SETTINGS = 4,
	OBSBPF_H2_PUSH_PROMISE = 5,
	OBSBPF_H2_PING = 6,
	OBSBPF_H2_GOAWAY = 7,
	OBSBPF_H2_WINDOW_UPDATE = 8,
	OBSBPF_H2_CONTINUATION = 9,
};

#define OBSBPF_H2_F_END_STREAM	0x1
#define OBSBPF_H2_F_ACK		0x1 /* SETTINGS, PING */
#define OBSBPF_H2_F_END_HEADERS 0x4
#define OBSBPF_H2_F_PADDED	0x8
#define OBSBPF_H2_F_PRIORITY	0x20

enum obsbpf_h2_kind {
	OBSBPF_H2_EV_FRAME = 0, /* a frame's header, with its payload's first chunk (if forwarded) */
	OBSBPF_H2_EV_MORE,	/* a further chunk of the current frame's payload */
	OBSBPF_H2_EV_LOST,	/* the kernel stopped following the connection (type: the reason) */
	OBSBPF_H2_EV_CLOSE,	/* the connection closed (type: why, OBSBPF_H2_CLOSE_REASON) */
	OBSBPF_H2_EV_OPEN,	/* the connection was found to carry HTTP/2: data is its addresses
				 * (flags: OBSBPF_H2_OPEN_TLS when fed by the TLS decoder) */
};

#define OBSBPF_H2_OPEN_TLS 0x1

/* EV_CLOSE's type: the enum obsbpf_no_response its open requests get, as
 * OBSBPF_H2_CLOSE_REASON(type); 0 when the connection is forgotten rather than closed (the TLS
 * decoder's idle ones, those of exited processes): nothing is ended. */
#define OBSBPF_H2_CLOSE_TYPE(status) ((status)-OBSBPF_STATUS_NO_RESPONSE + 1)
#define OBSBPF_H2_CLOSE_REASON(type) ((type) + OBSBPF_STATUS_NO_RESPONSE - 1)

/* Why the kernel stopped following an HTTP/2 connection (obsbpf_connections_unparsed_total). */
enum obsbpf_h2_lost {
	OBSBPF_H2_LOST_GAP = 1,	  /* a segment arrived past the bytes followed (loss, reordering) */
	OBSBPF_H2_LOST_MALFORMED, /* a frame header no HTTP/2 peer sends */
	OBSBPF_H2_LOST_EVENTS,	  /* the ring buffer was full: a header block would be missing */
	OBSBPF_H2_LOST_BUDGET,	  /* more frames in one segment than OBSBPF_H2_STEPS */
};

/* Ring buffer h2_events. Frames forwarded: HEADERS, CONTINUATION, PUSH_PROMISE (header blocks:
 * every chunk), SETTINGS (not ACKs: the header table size), RST_STREAM and GOAWAY (first chunk);
 * DATA only when it ends a stream, without payload. ts_ns is when the kernel saw the chunk:
 * a request HEADERS' arrival (server) or departure (client), a response's END_STREAM.
 * Events of one direction carry consecutive n from 1: a gap means events were lost (the ring
 * buffer was full) and the connection can no longer be decoded. */
struct obsbpf_h2_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u64 conn;  /* the socket's cookie */
	__u32 pod_id;
	__u32 seq; /* TCP seq of the chunk's first byte */
	__u32 stream;
	__u32 frame_len;
	__u32 n;   /* the direction's event number (FRAME, MORE); 0 for OPEN, LOST, CLOSE */
	__u16 off; /* where data starts in the frame's payload */
	__u16 len; /* bytes in data */
	__u8 kind; /* enum obsbpf_h2_kind */
	__u8 dir;  /* the pod's role on the connection: enum obsbpf_dir */
	__u8 from_client;
	__u8 type; /* frame type; for EV_LOST the reason */
	__u8 flags;
	__u8 pad[7];
	/* A request's HEADERS (FRAME, the block's first frame): the span context the kernel gave
	 * it (origin OBSBPF_TO_NONE: none, tracing is off or it was not a request). */
	struct obsbpf_trace trace;
	__u8 data[OBSBPF_H2_CHUNK];
};

/* An event without payload bytes is this long (the ring buffer record is cut after trace): most
 * are (DATA ends, resets, settings acks are not sent), and the ring holds twice as many. */
#define OBSBPF_H2_EVENT_HDR __builtin_offsetof(struct obsbpf_h2_event, data)

/* Map h2_tx_trace: the span context sk_msg gave a request it saw leave (and perhaps inserted
 * into), for tc egress to put in that HEADERS' event. */
struct obsbpf_h2_stream_key {
	__u64 conn; /* the socket's cookie */
	__u32 stream;
	__u32 pad;
};

#endif
