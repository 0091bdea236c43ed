/* SPDX-License-Identifier: GPL-2.0 */
/* HTTP requests with libcurl's multi interface, driven by the agent's event loop: curl's
 * sockets and timeout are watched by the loop (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION), so a
 * slow app never blocks /metrics. A request may be made from inside a pod's network
 * namespace: its socket is created there (CURLOPT_OPENSOCKETFUNCTION + pod_in_netns). */
#ifndef OBSBPF_APPMETRICS_FETCH_H
#define OBSBPF_APPMETRICS_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

struct loop;
struct pod_info;
struct fetcher;

struct fetch_req {
	const char *method; /* NULL: GET */
	const char *url;
	const char *accept;	  /* Accept header, or NULL */
	const char *content_type; /* of body, or NULL */
	const char *body;	  /* request body (copied, unless body_kept), or NULL */
	size_t body_len;
	/* The caller keeps body unchanged until the callback: libcurl reads it in place (the span
	 * exporter's batches: a copy of each was a malloc, page faults and a memcpy per request). */
	bool body_kept;
	unsigned timeout_ms;	    /* whole request */
	size_t max_bytes;	    /* longer responses fail with "response too large"; 0: none */
	bool discard_body;	    /* read and drop the body (a health probe wants the status) */
	const struct pod_info *pod; /* connect from inside this pod's netns; NULL: the agent's */
	const char *const *headers; /* more request header lines ("Name: value"), or NULL */
	size_t nheaders;
	/* TLS (https URLs): the CA bundle to verify the server with (NULL: the system's), and a
	 * client certificate and its key (PEM files), or NULL. */
	const char *ca_file, *client_cert, *client_key;
};

struct fetch_result {
	bool ok;	   /* transfer completed (any HTTP status) */
	long status;	   /* HTTP status, 0 when none */
	const char *error; /* when !ok: one line ("Connection refused", "timed out", ...) */
	bool timed_out, too_large;
	struct strbuf *body;	  /* response body: the callback may sb_steal it */
	const char *content_type; /* or NULL */
	double seconds;		  /* total time */
	long retry_after_s;	  /* the response's Retry-After in seconds (date or delay), -1: none */
};

typedef void (*fetch_done_fn)(void *arg, const struct fetch_result *r);

struct fetcher *fetcher_new(struct loop *l);
/* Called with own = true for each socket opened in a pod's netns (already bound to its local
 * port) and with own = false when it closes: the agent tells the data plane to ignore them. */
typedef int (*fetch_socket_hook)(void *arg, int fd, bool own);
void fetcher_set_socket_hook(struct fetcher *f, fetch_socket_hook hook, void *arg);
/* Cancels every request in flight (their callbacks are not called). */
void fetcher_free(struct fetcher *f);
/* Cancels the requests in flight started with this arg (their callbacks are not called). */
void fetch_cancel(struct fetcher *f, void *arg);
/* Starts a request; done is called later from the loop. Returns 0 or -errno. */
int fetch_start(struct fetcher *f, const struct fetch_req *req, fetch_done_fn done, void *arg);
/* The same, blocking (used once at shutdown); returns the HTTP status or -errno. */
long fetch_blocking(const struct fetch_req *req, struct strbuf *err);

#endif
