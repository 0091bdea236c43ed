/* SPDX-License-Identifier: GPL-2.0 */
/* TLS seen at the library: uprobes on OpenSSL's SSL_write/SSL_read (and their _ex forms) in the
 * pod's processes hand the plaintext of each call to user space, which parses it as the socket
 * hooks parse cleartext. Nothing here ever touches the ciphertext on the wire. */
#ifndef OBSBPF_TLS_H
#define OBSBPF_TLS_H

#include "types.h"

/* Plaintext bytes of a call handed on, from its first: enough for a request's or response's
 * head; on a connection that carries HTTP/2 (its preface was seen), enough for the frame
 * headers of a whole TLS record's worth (16 KiB). Events are as long as what they carry. */
#define OBSBPF_TLS_CAP	  4096
#define OBSBPF_TLS_CAP_H2 16384
/* HTTP/2 calls larger than that: events of up to OBSBPF_TLS_CAP_H2 bytes each, at most this many. */
#define OBSBPF_TLS_H2_PIECES 4

enum obsbpf_tls_op {
	OBSBPF_TLS_WRITE = 0, /* SSL_write / SSL_write_ex: the pod sent these bytes */
	OBSBPF_TLS_READ = 1,  /* SSL_read / SSL_read_ex: the pod received them */
	OBSBPF_TLS_CLOSE = 2, /* a socket an SSL * was tied to closed: sock (cookie, addrs, dir),
			       * reason, ssl and pid_tgid's tgid (the last SSL * tied), no data; again
			       * when a read after the close ties another SSL * */
};

/* Map tls_args: what a thread inside an SSL call passed in (entry -> return probe). */
struct obsbpf_tls_args {
	__u64 ssl;
	__u64 buf;
	__u64 ex_len; /* SSL_*_ex: where the library writes the byte count; 0 for the plain calls */
	__u64 ts_ns;  /* the call's entry */
	__u32 op;
	__u32 pod_id;
};

/* Map tls_sock, key struct obsbpf_tls_key: the socket an SSL * was seen moving bytes on (tied
 * by the socket hooks while the thread was inside an SSL call). */
struct obsbpf_tls_key {
	__u64 ssl;
	__u32 tgid;
	__u32 pad;
};

struct obsbpf_tls_sock {
	__u64 cookie;
	struct obsbpf_addrs addrs;
	__u8 dir; /* the pod's role on the connection: enum obsbpf_dir */
	__u8 pad[7];
};

/* Map tls_pids (tgid -> flags): which processes move TLS bytes, and which are seen doing it
 * through the library: one with the first and not the second does TLS that obsbpf cannot see
 * (a static Go binary, BoringSSL linked in). */
#define OBSBPF_TLS_PID_IO    0x1 /* read or sent on a connection classified TLS */
#define OBSBPF_TLS_PID_CALLS 0x2 /* called SSL_read/SSL_write of a library obsbpf probes */

/* Map tls_h2 (struct obsbpf_tls_key -> 1): SSL *s whose plaintext began with the HTTP/2
 * client preface: their calls are handed on up to OBSBPF_TLS_CAP_H2 bytes. */

/* Ring buffer tls_events: one per call that moved bytes, cut after its cap bytes of data. */
struct obsbpf_tls_event {
	__u64 ts_ns;	/* CLOCK_MONOTONIC: the call's return */
	__u64 call_ns;	/* its entry */
	__u64 pid_tgid; /* the calling thread */
	__u64 ssl;
	__u32 pod_id;
	__u32 len; /* bytes the call moved */
	__u16 cap; /* of them in data, from the first */
	__u8 op;   /* enum obsbpf_tls_op */
	__u8 tied; /* sock is known (the connection the SSL * moves bytes on) */
	/* OBSBPF_TLS_CLOSE: why the socket closed, the enum obsbpf_no_response its unanswered
	 * requests get (ts_ns: the close); 0 in the other events. */
	__u32 reason;
	struct obsbpf_tls_sock sock;
	/* A request (its first bytes a request line) the pod read: the span context the kernel
	 * gave it and bound the reading thread to; one the pod sent: the context of its client
	 * span (continued from its own trace header, or from the request the thread serves); origin
	 * NONE otherwise. Nothing is inserted: the plaintext is never written. */
	struct obsbpf_trace trace;
	__u8 data[OBSBPF_TLS_CAP_H2];
};

#define OBSBPF_TLS_EVENT_HDR __builtin_offsetof(struct obsbpf_tls_event, data)

#endif
