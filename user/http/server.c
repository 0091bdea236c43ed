// SPDX-License-Identifier: GPL-2.0
#include "server.h"
#include "util/log.h"
#include "util/hostport.h"

#include "loop/loop.h"
#include "util/strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HOOKS 16

struct ready_check {
	const char *name;
	http_ready_fn fn;
	void *arg;
};

struct handler {
	const char *path;
	http_handler_fn fn;
	void *arg;
};

struct http_server {
	struct MHD_Daemon *mhd;
	bool verbose;
	bool handlers_remote; /* handlers answer non-loopback clients */
	struct loop_watch *io, *tick;
	struct {
		http_collect_fn fn;
		void *arg;
	} collectors[MAX_HOOKS];
	int ncollectors;
	struct ready_check ready[MAX_HOOKS];
	int nready;
	struct handler handlers[MAX_HOOKS];
	int nhandlers;
};

int parse_listen_addr(const char *s, struct sockaddr_storage *ss, unsigned *len)
{
	char host[128], ps[8];
	memset(ss, 0, sizeof(*ss));
	if (hostport_split(s, strlen(s), HP_HOST_OPTIONAL | HP_BARE_IPV6, host, sizeof(host), ps,
			   sizeof(ps)) < 0)
		return -EINVAL;
	if (!host[0])
		strcpy(host, "0.0.0.0");
	long port = strtol(ps, NULL, 10);
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

void http_server_render_metrics(struct http_server *s, struct strbuf *out, enum exposition_format f)
{
	for (int i = 0; i < s->ncollectors; i++)
		s->collectors[i].fn(s->collectors[i].arg, out, f);
	if (f == EXPO_OPENMETRICS)
		sb_puts(out, "# EOF\n");
}

bool http_server_ready(struct http_server *s)
{
	struct strbuf why;
	bool all = true;
	sb_init(&why);
	for (int i = 0; all && i < s->nready; i++)
		all = s->ready[i].fn(s->ready[i].arg, &why);
	sb_free(&why);
	return all;
}

static enum exposition_format wanted_format(struct MHD_Connection *c)
{
	return http_accept_format(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
}

static int render_ready(struct http_server *s, struct strbuf *body)
{
	bool all = true;
	struct strbuf why;
	sb_init(&why);
	sb_puts(body, "{\"status\":\"");
	size_t status_at = body->len;
	sb_puts(body, "ready\",\"checks\":[");
	for (int i = 0; i < s->nready; i++) {
		sb_reset(&why);
		bool ok = s->ready[i].fn(s->ready[i].arg, &why);
		all &= ok;
		sb_printf(body, "%s{\"name\":\"", i ? "," : "");
		sb_json_str(body, s->ready[i].name);
		sb_printf(body, "\",\"ok\":%s", ok ? "true" : "false");
		if (!ok) {
			sb_puts(body, ",\"reason\":\"");
			sb_json_str(body, why.buf ? why.buf : "");
			sb_putc(body, '"');
		}
		sb_putc(body, '}');
	}
	sb_puts(body, "]}\n");
	sb_free(&why);
	if (!all && !body->oom) {
		/* "ready" and "unrdy" have the same length: patch in place. */
		memcpy(body->buf + status_at, "unrdy", 5);
	}
	return all ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
}

static enum MHD_Result respond(struct MHD_Connection *c, int status, struct strbuf *body, const char *ctype)
{
	if (body->oom) {
		sb_free(body);
		sb_puts(body, "out of memory\n");
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		ctype = "text/plain";
	}
	size_t len;
	char *buf = sb_steal(body, &len);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	/* /metrics answers by Accept; caches between the agent and a scraper must know. */
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

/* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
static bool peer_is_loopback(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size,
				  void **con_cls)
{
	struct http_server *s = cls;
	struct strbuf body;
	(void)version;
	(void)upload;

	if (!*con_cls) { /* first call: headers only */
		*con_cls = s;
		return MHD_YES;
	}
	if (*upload_size) { /* we take no bodies: drop them */
		*upload_size = 0;
		return MHD_YES;
	}
	sb_init(&body);
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		sb_puts(&body, "method not allowed\n");
		return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, &body, "text/plain");
	}
	if (!strcmp(url, "/metrics")) {
		enum exposition_format f = wanted_format(c);
		http_server_render_metrics(s, &body, f);
		return respond(c, MHD_HTTP_OK, &body,
			       f == EXPO_OPENMETRICS ? HTTP_CTYPE_OPENMETRICS : HTTP_CTYPE_PROMETHEUS);
	}
	if (!strcmp(url, "/healthz")) {
		sb_puts(&body, "ok\n");
		return respond(c, MHD_HTTP_OK, &body, "text/plain");
	}
	if (!strcmp(url, "/readyz")) {
		int st = render_ready(s, &body);
		return respond(c, st, &body, "application/json");
	}
	for (int i = 0; i < s->nhandlers; i++) {
		if (!strcmp(url, s->handlers[i].path)) {
			const char *ct = "text/plain";
			if (!s->handlers_remote && !peer_is_loopback(c)) {
				sb_printf(&body, "%s answers loopback clients only (--status-remote)\n", url);
				return respond(c, MHD_HTTP_FORBIDDEN, &body, "text/plain");
			}
			int st = s->handlers[i].fn(s->handlers[i].arg, &body, &ct);
			return respond(c, st, &body, ct);
		}
	}
	sb_puts(&body, "not found\n");
	return respond(c, MHD_HTTP_NOT_FOUND, &body, "text/plain");
}

static void on_io(void *arg, uint32_t events)
{
	struct http_server *s = arg;
	(void)events;
	MHD_run(s->mhd);
}

static void on_tick(void *arg)
{
	struct http_server *s = arg;
	MHD_run(s->mhd); /* expires idle connections */
}

/* libmicrohttpd's own messages at debug: the caller already logs one line for every failure a
 * user has to act on. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	log_vmsg(LOG_DEBUG, "http", fmt, ap);
}

/* A listening TCP socket on ss (non-blocking, SO_REUSEADDR), or -errno. */
static int listen_socket(const struct sockaddr_storage *ss, unsigned len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

struct http_server *http_server_start(const struct http_server_opts *o, struct loop *l)
{
	struct sockaddr_storage ss;
	unsigned sslen;
	if (parse_listen_addr(o->listen, &ss, &sslen) < 0) {
		log_error("http", "--listen %s: expected ADDR:PORT, e.g. 0.0.0.0:9102\n", o->listen);
		return NULL;
	}
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->verbose = o->verbose;
	s->handlers_remote = o->handlers_remote;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* Bound here, not by libmicrohttpd: a port another process holds is then named with the
	 * kernel's reason, at once, in one line. */
	int fd = listen_socket(&ss, sslen);
	if (fd < 0) {
		log_error("http", "--listen %s: cannot bind port %u: %s\n", o->listen,
			  ntohs(((struct sockaddr_in *)&ss)->sin_port), strerror(-fd));
		free(s);
		return NULL;
	}
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
				  &s->verbose, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT,
				  o->idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_per_ip,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_END);
	if (!s->mhd) {
		log_error("http", "--listen %s: the HTTP server did not start\n", o->listen);
		close(fd);
		free(s);
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	s->io = info ? loop_add_fd(l, info->epoll_fd, EPOLLIN, on_io, s) : NULL;
	s->tick = loop_add_timer(l, 500, 500, on_tick, s);
	if (!s->io || !s->tick) {
		log_error("http", "listen %s: cannot join the event loop\n", o->listen);
		http_server_stop(s);
		return NULL;
	}
	return s;
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	loop_remove(s->io);
	loop_remove(s->tick);
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	free(s);
}

int http_server_add_collector(struct http_server *s, http_collect_fn fn, void *arg)
{
	if (s->ncollectors == MAX_HOOKS)
		return -ENOSPC;
	s->collectors[s->ncollectors].fn = fn;
	s->collectors[s->ncollectors++].arg = arg;
	return 0;
}

int http_server_add_ready_check(struct http_server *s, const char *name, http_ready_fn fn, void *arg)
{
	if (s->nready == MAX_HOOKS)
		return -ENOSPC;
	s->ready[s->nready++] = (struct ready_check){ name, fn, arg };
	return 0;
}

int http_server_add_handler(struct http_server *s, const char *path, http_handler_fn fn, void *arg)
{
	if (s->nhandlers == MAX_HOOKS)
		return -ENOSPC;
	s->handlers[s->nhandlers++] = (struct handler){ path, fn, arg };
	return 0;
}
