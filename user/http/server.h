/* SPDX-License-Identifier: GPL-2.0 */
/* The agent's HTTP endpoint (libmicrohttpd, driven by the agent's event loop):
 * /metrics renders every registered collector, /healthz says the agent is alive,
 * /readyz runs every registered readiness check, other paths go to handlers. */
#ifndef OBSBPF_HTTP_SERVER_H
#define OBSBPF_HTTP_SERVER_H

#include <stdbool.h>

struct loop;
struct strbuf;
struct http_server;

enum exposition_format {
	EXPO_PROMETHEUS,
	EXPO_OPENMETRICS
};

#define HTTP_CTYPE_PROMETHEUS  "text/plain; version=0.0.4; charset=utf-8"
#define HTTP_CTYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* The format to answer an Accept header with (RFC 9110 12.5.1: q-values, the most specific
 * matching range decides). OpenMetrics only when its 1.0.0 is preferred over text 0.0.4;
 * no header, or nothing we offer acceptable: Prometheus text, which every scraper reads. */
enum exposition_format http_accept_format(const char *accept);

/* "# HELP", "# TYPE" and, in OpenMetrics, "# UNIT" (seconds or bytes, taken from the name's
 * suffix) of one family. `name` is the sample name: a counter's "_total" is dropped from
 * the family name in OpenMetrics. HELP text is escaped for the format (OpenMetrics also
 * escapes '"'). */
void http_expo_family(struct strbuf *out, enum exposition_format f, const char *name, const char *type,
		      const char *help);

/* Appends metric families to out. Must not emit a family name another collector emits. */
typedef void (*http_collect_fn)(void *arg, struct strbuf *out, enum exposition_format fmt);
/* Returns true when ready; otherwise writes a short reason into `why`. */
typedef bool (*http_ready_fn)(void *arg, struct strbuf *why);
/* Writes a body, sets *content_type; returns the HTTP status. */
typedef int (*http_handler_fn)(void *arg, struct strbuf *body, const char **content_type);

struct http_server_opts {
	const char *listen;	 /* "ADDR:PORT", "[v6]:PORT" or ":PORT" */
	unsigned idle_timeout_s; /* close idle connections after this */
	unsigned max_connections;
	unsigned max_per_ip;
	bool verbose; /* libmicrohttpd's own log messages */
	/* Handlers (/status) answer other hosts too; false: loopback clients only (403 otherwise),
	 * so that an agent on the host network does not tell the node's network about its pods. */
	bool handlers_remote;
};

/* Returns NULL and prints a one-line reason to stderr on failure. */
struct http_server *http_server_start(const struct http_server_opts *o, struct loop *l);
void http_server_stop(struct http_server *s);

int http_server_add_collector(struct http_server *s, http_collect_fn fn, void *arg);
int http_server_add_ready_check(struct http_server *s, const char *name, http_ready_fn fn, void *arg);
int http_server_add_handler(struct http_server *s, const char *path, http_handler_fn fn, void *arg);

/* Whether /readyz would answer 200 now (every readiness check passes). */
bool http_server_ready(struct http_server *s);

/* Renders what /metrics would return (used by tests and `make bench`). */
void http_server_render_metrics(struct http_server *s, struct strbuf *out, enum exposition_format f);

/* Parses "ADDR:PORT" forms into a sockaddr; returns 0 or -EINVAL. */
struct sockaddr_storage;
int parse_listen_addr(const char *s, struct sockaddr_storage *ss, unsigned *len);

#endif
