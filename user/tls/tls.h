/* SPDX-License-Identifier: GPL-2.0 */
/* TLS seen at the library (bpf/tls.bpf.c): the plaintext of each SSL_read/SSL_write call of a
 * pod's processes, per connection (process and SSL *), parsed as the socket hooks parse
 * cleartext: HTTP/1.x with the http-parser library (libhttp-parser), HTTP/2 (the client's
 * preface) frame by frame into the HTTP/2 decoder (user/h2) as if the kernel had followed the
 * frames. Each request ends as an exchange (struct h2_exchange, tls set); a connection whose socket closed (the kernel says so) or
 * whose process exited is forgotten. Only the first
 * OBSBPF_TLS_CAP bytes of a call are handed on: a head longer than that, or an HTTP/2 frame
 * header beyond it, loses the connection's parsing (counted), never its bytes.
 * Single-threaded, like the event loop that owns it. */
#ifndef OBSBPF_TLS_TRACKER_H
#define OBSBPF_TLS_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <obsbpf/tls.h>

#include "h2/h2.h"

struct tls_tracker;

enum tls_drop {
	TLS_DROP_HTTP1 = 0, /* bytes http-parser refused (a head beyond what is handed on, a chunked
			     * body whose sizes were not seen): parsing resumes at the next message */
	TLS_DROP_H2,	    /* an HTTP/2 frame header beyond the bytes handed on: the connection */
	TLS_DROP_LIMIT,	    /* more connections than the limit: not parsed */
	TLS_DROP_MAX,
};
const char *tls_drop_name(enum tls_drop d);

struct tls_stats {
	uint64_t conns;		   /* connections parsed now */
	uint64_t events;	   /* SSL calls handed on */
	uint64_t http1, h2, other; /* connections by what their plaintext carries */
	uint64_t dropped[TLS_DROP_MAX];
	uint64_t exchanges;
	uint64_t untied; /* exchanges whose socket was not known (no addresses) */
	uint64_t late;	 /* calls whose return came after their socket's close */
};

/* A connection is forgotten (closed, idle, its process gone): the kernel's state for the SSL *
 * can go too, if it still names the same socket (cookie; 0 if never tied). */
typedef void (*tls_forget_fn)(void *arg, uint32_t tgid, uint64_t ssl, uint64_t cookie);

/* fn (with arg) sees every HTTP/1.x exchange; HTTP/2 ones go through h2 (its own callback).
 * max_conns: connections parsed at once. NULL on out of memory. */
struct tls_tracker *tls_tracker_new(unsigned max_conns, h2_exchange_fn fn, void *arg, struct h2_tracker *h2);
void tls_tracker_on_forget(struct tls_tracker *t, tls_forget_fn fn, void *arg);
void tls_tracker_free(struct tls_tracker *t);
/* One event of ring buffer tls_events (len bytes). */
void tls_tracker_event(struct tls_tracker *t, const void *data, size_t len);
/* Forgets connections idle since before idle_before_ns (CLOCK_MONOTONIC), and with check_pids
 * those whose process exited (pids as the kernel numbers them: the caller's pid namespace must
 * be the initial one): the library does not say when an SSL * is freed. */
void tls_tracker_sweep(struct tls_tracker *t, uint64_t idle_before_ns, bool check_pids);
void tls_tracker_forget_pod(struct tls_tracker *t, uint32_t pod_id);
const struct tls_stats *tls_tracker_stats(const struct tls_tracker *t);

#endif
