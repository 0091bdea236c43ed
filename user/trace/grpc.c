// SPDX-License-Identifier: GPL-2.0
/* OTLP/gRPC transport: one HTTP/2 connection (h2c, prior knowledge; or over TLS with OpenSSL,
 * ALPN h2, for an https:// endpoint) driven by nghttp2 in its memory-buffer mode on the agent's
 * loop: a non-blocking socket, our own reads and writes, nghttp2 only frames. The request is
 * TraceService/Export with the message behind gRPC's 5-byte prefix (gzip-compressed with
 * --otlp-compression gzip); the outcome comes from the grpc-status trailer. The connection is reused and
 * reopened on the next request after any failure. */
#include "internal.h"
#include "h2/grpc_status.h"
#include "util/log.h"
#include "util/version.h"

#include "loop/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXPORT_PATH "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

struct grpc_tp {
	struct transport tp;
	struct loop *loop;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char authority[300];
	char host[256]; /* the name (or address) the server's certificate must carry */
	unsigned timeout_ms;
	struct otlp_header *hdrs; /* --otlp-header and the OTEL_* headers */
	unsigned nhdrs;
	bool gzip;
	struct otlp_gzip gz;
	SSL_CTX *tls; /* NULL: h2c */
	SSL *ssl;     /* the connection's, while connected over TLS */
	bool handshaking;

	int fd;
	struct loop_watch *w;
	bool connecting;
	nghttp2_session *sess;
	uint8_t *out; /* bytes nghttp2 produced that the socket did not take yet */
	size_t out_len, out_off;
	char h2_error[128]; /* why nghttp2 itself ended the session, "" when it did not */

	/* the request in flight (at most one: the tracer waits for each result) */
	export_done_fn done;
	void *arg;
	struct loop_watch *timer;
	uint8_t prefix[5];	   /* gRPC's: compressed flag, message length */
	const uint8_t *msg;	   /* the tracer's buffer, unchanged until done: not copied */
	size_t body_len, body_off; /* prefix and message */
	int32_t stream;
	int http_status, grpc_status;
	char grpc_message[100];
	char details[1024]; /* grpc-status-details-bin (base64), "" when absent or too long */
	uint8_t *resp;
	size_t resp_len;
	bool finished; /* outcome known; delivered once the current callback unwinds */
	struct export_result res;
};

static void conn_close(struct grpc_tp *g)
{
	loop_remove(g->w);
	g->w = NULL;
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	SSL_free(g->ssl);
	g->ssl = NULL;
	g->handshaking = false;
	nghttp2_session_del(g->sess);
	g->sess = NULL;
	free(g->out);
	g->out = NULL;
	g->out_len = g->out_off = 0;
	g->connecting = false;
	g->h2_error[0] = '\0';
}

static void finish(struct grpc_tp *g, enum export_outcome o, const char *detail)
{
	if (!g->done || g->finished)
		return;
	g->finished = true;
	g->res = (struct export_result){ .outcome = o, .retry_after_ms = -1 };
	snprintf(g->res.detail, sizeof(g->res.detail), "%s", detail);
}

/* Hands the outcome to the tracer, outside nghttp2's callbacks: it may send the next batch. */
static void deliver(struct grpc_tp *g)
{
	if (!g->done || !g->finished)
		return;
	export_done_fn done = g->done;
	struct export_result r = g->res;
	loop_remove(g->timer);
	g->timer = NULL;
	g->msg = NULL;
	free(g->resp);
	g->resp = NULL;
	g->resp_len = 0;
	g->done = NULL;
	g->finished = false;
	g->stream = -1;
	done(g->arg, &r);
}

static void conn_fail(struct grpc_tp *g, const char *what, int err)
{
	char d[160];
	snprintf(d, sizeof(d), "%s: %s", what, err ? strerror(err) : "connection closed");
	finish(g, EXPORT_RETRY, d);
	conn_close(g);
}

static void stream_done(struct grpc_tp *g)
{
	char d[160];
	int st = g->grpc_status >= 0	? g->grpc_status
		: g->http_status == 200 ? 2 /* UNKNOWN: a reply without a status */
					: grpc_status_from_http(g->http_status);
	enum export_outcome o = otlp_grpc_outcome(st);
	/* A server that says when to come back (RetryInfo) makes RESOURCE_EXHAUSTED retryable. */
	long retry_ms = g->details[0] ? grpc_retry_info_ms(g->details, strlen(g->details)) : -1;
	if (st == 8 && retry_ms >= 0)
		o = EXPORT_RETRY;
	if (g->grpc_status < 0 && g->http_status != 200)
		snprintf(d, sizeof(d), "HTTP %d", g->http_status);
	else
		snprintf(d, sizeof(d), "grpc-status %d%s%s", st, g->grpc_message[0] ? ": " : "",
			 g->grpc_message);
	finish(g, o, d);
	if (o == EXPORT_RETRY)
		g->res.retry_after_ms = retry_ms;
	/* The reply message: 1 byte compressed flag, 4 bytes length, the message. */
	if (o == EXPORT_OK && g->resp_len >= 5 && !g->resp[0]) {
		uint32_t n = (uint32_t)g->resp[1] << 24 | (uint32_t)g->resp[2] << 16 |
			(uint32_t)g->resp[3] << 8 | g->resp[4];
		char msg[100];
		if (n <= g->resp_len - 5 &&
		    otlp_decode_response(g->resp + 5, n, &g->res.rejected, msg, sizeof(msg)) == 0 &&
		    g->res.rejected)
			snprintf(g->res.detail, sizeof(g->res.detail), "partial success: %lld rejected: %s",
				 (long long)g->res.rejected, msg);
	}
}

/* grpc-message is percent-encoded (gRPC over HTTP/2, "Responses"). */
static void percent_decode(char *out, size_t n, const uint8_t *v, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < n; i++) {
		unsigned x;
		if (v[i] == '%' && i + 2 < len && sscanf((const char *)v + i + 1, "%2x", &x) == 1) {
			out[o++] = (char)x;
			i += 2;
		} else {
			out[o++] = (char)v[i];
		}
	}
	out[o] = '\0';
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
		     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct grpc_tp *g = ud;
	(void)s, (void)flags;
	if (f->hd.stream_id != g->stream)
		return 0;
	if (namelen == 7 && !memcmp(name, ":status", 7))
		g->http_status = atoi((const char *)value);
	else if (namelen == 11 && !memcmp(name, "grpc-status", 11))
		g->grpc_status = atoi((const char *)value);
	else if (namelen == 12 && !memcmp(name, "grpc-message", 12))
		percent_decode(g->grpc_message, sizeof(g->grpc_message), value, valuelen);
	else if (namelen == 23 && !memcmp(name, "grpc-status-details-bin", 23) &&
		 valuelen < sizeof(g->details))
		snprintf(g->details, sizeof(g->details), "%.*s", (int)valuelen, value);
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream, const uint8_t *data, size_t len,
		   void *ud)
{
	struct grpc_tp *g = ud;
	(void)s, (void)flags;
	/* !len: realloc(p, 0) frees p and returns NULL, leaving g->resp dangling */
	if (stream != g->stream || !len || g->resp_len + len > 64 * 1024)
		return 0;
	uint8_t *p = realloc(g->resp, g->resp_len + len);
	if (!p)
		return 0;
	memcpy(p + g->resp_len, data, len);
	g->resp = p;
	g->resp_len += len;
	return 0;
}

static int on_close(nghttp2_session *s, int32_t stream, uint32_t error_code, void *ud)
{
	struct grpc_tp *g = ud;
	(void)s;
	if (stream != g->stream)
		return 0;
	if (error_code && g->grpc_status < 0) {
		char d[80];
		/* RST_STREAM REFUSED_STREAM: the server did not process it, so it is safe to retry. */
		snprintf(d, sizeof(d), "stream reset: %s", nghttp2_http2_strerror(error_code));
		finish(g, EXPORT_RETRY, d);
		return 0;
	}
	stream_done(g);
	return 0;
}

/* nghttp2 ends the session itself when the peer's bytes are not HTTP/2 (garbage, a server that
 * speaks only HTTP/1): keep its reason, so the log does not blame a GOAWAY nobody sent. */
static int on_h2_error(nghttp2_session *s, int code, const char *msg, size_t len, void *ud)
{
	struct grpc_tp *g = ud;
	(void)s, (void)code;
	if (!g->h2_error[0])
		snprintf(g->h2_error, sizeof(g->h2_error), "%.*s", (int)len, msg);
	return 0;
}

/* The session is over (nothing to read or write): the server said GOAWAY, or nghttp2 gave up. */
static void session_ended(struct grpc_tp *g)
{
	char d[160];
	if (g->h2_error[0])
		snprintf(d, sizeof(d), "http/2: %s", g->h2_error);
	else
		snprintf(d, sizeof(d), "server ended the connection (GOAWAY)");
	finish(g, EXPORT_RETRY, d);
	conn_close(g);
}

static ssize_t read_body(nghttp2_session *s, int32_t stream, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct grpc_tp *g = ud;
	(void)s, (void)stream, (void)src;
	size_t n = g->body_len - g->body_off;
	if (n > len)
		n = len;
	for (size_t k = 0; k < n;) { /* the prefix, then the message */
		size_t off = g->body_off + k, m;
		if (off < sizeof(g->prefix)) {
			m = sizeof(g->prefix) - off < n - k ? sizeof(g->prefix) - off : n - k;
			memcpy(buf + k, g->prefix + off, m);
		} else {
			m = n - k;
			memcpy(buf + k, g->msg + off - sizeof(g->prefix), m);
		}
		k += m;
	}
	g->body_off += n;
	if (g->body_off == g->body_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* What an SSL_read (reading) or SSL_write that returned r means, as recv/send say it: -1 with
 * errno EAGAIN while TLS waits for the socket; a read's 0 at the end of the stream (a write
 * never returns 0: its caller would loop). */
static ssize_t ssl_result(struct grpc_tp *g, int r, bool reading)
{
	if (r > 0)
		return r;
	switch (SSL_get_error(g->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		if (reading)
			return 0;
		break;
	case SSL_ERROR_SYSCALL:
		if (errno)
			return -1;
		break;
	}
	errno = EPROTO;
	return -1;
}

/* recv/send, through TLS when the connection has it. */
static ssize_t io_recv(struct grpc_tp *g, void *buf, size_t n)
{
	if (!g->ssl)
		return recv(g->fd, buf, n, 0);
	ERR_clear_error();
	errno = 0;
	return ssl_result(g, SSL_read(g->ssl, buf, (int)n), true);
}

static ssize_t io_send(struct grpc_tp *g, const void *buf, size_t n)
{
	if (!g->ssl)
		return send(g->fd, buf, n, MSG_NOSIGNAL);
	ERR_clear_error();
	errno = 0;
	return ssl_result(g, SSL_write(g->ssl, buf, (int)n), false);
}

/* Writes what nghttp2 has to send until the socket would block; keeps the rest. */
static int flush(struct grpc_tp *g)
{
	for (;;) {
		if (g->out_off < g->out_len) {
			ssize_t n = io_send(g, g->out + g->out_off, g->out_len - g->out_off);
			if (n < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
			g->out_off += (size_t)n;
			if (g->out_off < g->out_len)
				continue;
		}
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(g->sess, &data);
		if (n < 0)
			return -EPROTO;
		if (n == 0)
			return 0;
		/* nghttp2's buffer is only valid until its next call: keep a copy to write. */
		uint8_t *p = realloc(g->out, (size_t)n);
		if (!p)
			return -ENOMEM;
		memcpy(p, data, (size_t)n);
		g->out = p;
		g->out_len = (size_t)n;
		g->out_off = 0;
	}
}

static void update_events(struct grpc_tp *g)
{
	uint32_t ev = EPOLLIN;
	if (g->out_off < g->out_len || (g->sess && nghttp2_session_want_write(g->sess)))
		ev |= EPOLLOUT;
	loop_mod_fd(g->w, ev);
}

static int submit(struct grpc_tp *g)
{
	char timeout[32];
	snprintf(timeout, sizeof(timeout), "%um", g->timeout_ms);
	nghttp2_nv hdrs[12 + OTLP_MAX_HEADERS];
#define NV(n, v)                                                                               \
	{                                                                                      \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE \
	}
	const nghttp2_nv fixed[] = {
		NV(":method", "POST"),
		NV(":scheme", g->tls ? "https" : "http"),
		NV(":path", EXPORT_PATH),
		NV(":authority", g->authority),
		NV("content-type", "application/grpc"),
		NV("te", "trailers"),
		NV("grpc-timeout", timeout),
		NV("user-agent", obsbpf_user_agent()),
		NV("grpc-encoding", "gzip"),
	};
#undef NV
	size_t n = sizeof(fixed) / sizeof(fixed[0]) - (g->gzip ? 0 : 1); /* grpc-encoding: last */
	memcpy(hdrs, fixed, n * sizeof(fixed[0]));
	for (unsigned i = 0; i < g->nhdrs; i++)
		hdrs[n++] = (nghttp2_nv){ (uint8_t *)g->hdrs[i].name, (uint8_t *)g->hdrs[i].value,
					  strlen(g->hdrs[i].name), strlen(g->hdrs[i].value),
					  NGHTTP2_NV_FLAG_NONE };
	nghttp2_data_provider prd = { .read_callback = read_body };
	g->http_status = 0;
	g->grpc_status = -1;
	g->grpc_message[0] = '\0';
	g->details[0] = '\0';
	g->body_off = 0;
	g->stream = nghttp2_submit_request(g->sess, NULL, hdrs, n, &prd, NULL);
	return g->stream < 0 ? -EPROTO : 0;
}

static int session_open(struct grpc_tp *g)
{
	nghttp2_session_callbacks *cb;
	if (nghttp2_session_callbacks_new(&cb))
		return -ENOMEM;
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	nghttp2_session_callbacks_set_error_callback2(cb, on_h2_error);
	int rc = nghttp2_session_client_new(&g->sess, cb, g);
	nghttp2_session_callbacks_del(cb);
	if (rc)
		return -ENOMEM;
	nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 } };
	return nghttp2_submit_settings(g->sess, NGHTTP2_FLAG_NONE, iv, 1) ? -EPROTO : 0;
}

/* The connection's TLS state, verifying the server's certificate against g->host: its DNS
 * name (also sent as SNI), or its IP address. */
static int tls_start(struct grpc_tp *g)
{
	unsigned char ip[16];
	if (!(g->ssl = SSL_new(g->tls)) || SSL_set_fd(g->ssl, g->fd) != 1)
		return -1;
	if (inet_pton(AF_INET, g->host, ip) == 1 || inet_pton(AF_INET6, g->host, ip) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(g->ssl), g->host) != 1)
			return -1;
	} else if (SSL_set_tlsext_host_name(g->ssl, g->host) != 1 || SSL_set1_host(g->ssl, g->host) != 1) {
		return -1;
	}
	SSL_set_connect_state(g->ssl);
	g->handshaking = true;
	return 0;
}

/* One handshake step: 1 done, 0 waiting for the socket, -1 failed (the request finished with
 * the reason: the certificate check's, else OpenSSL's). */
static int tls_step(struct grpc_tp *g)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_do_handshake(g->ssl);
	if (r == 1) {
		g->handshaking = false;
		return 1;
	}
	int e = SSL_get_error(g->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		loop_mod_fd(g->w, EPOLLIN | (e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : 0));
		return 0;
	}
	char d[160], why[120];
	long v = SSL_get_verify_result(g->ssl);
	unsigned long err = ERR_get_error();
	if (v != X509_V_OK)
		snprintf(d, sizeof(d), "tls: certificate of %.60s: %.70s", g->host,
			 X509_verify_cert_error_string(v));
	else {
		if (err)
			ERR_error_string_n(err, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s", errno ? strerror(errno) : "connection closed");
		snprintf(d, sizeof(d), "tls handshake: %.130s", why);
	}
	finish(g, EXPORT_RETRY, d);
	conn_close(g);
	return -1;
}

static void on_io(void *arg, uint32_t events)
{
	struct grpc_tp *g = arg;
	if (g->connecting) {
		int err = 0;
		socklen_t l = sizeof(err);
		if (getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (!err && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (err || (events & (EPOLLERR | EPOLLHUP))) {
			conn_fail(g, "connect", err ? err : ECONNREFUSED);
			deliver(g);
			return;
		}
		g->connecting = false;
		if (g->tls && tls_start(g) < 0) {
			conn_fail(g, "tls", ENOMEM);
			deliver(g);
			return;
		}
		if (!g->tls && (session_open(g) < 0 || (g->done && submit(g) < 0))) {
			conn_fail(g, "http/2 session", EPROTO);
			deliver(g);
			return;
		}
	}
	if (g->handshaking) {
		int rc = tls_step(g);
		if (rc <= 0) {
			deliver(g);
			return;
		}
		if (session_open(g) < 0 || (g->done && submit(g) < 0)) {
			conn_fail(g, "http/2 session", EPROTO);
			deliver(g);
			return;
		}
		events |= EPOLLIN; /* the server's first bytes may already wait in TLS's buffer */
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		uint8_t buf[16384];
		for (;;) {
			ssize_t n = io_recv(g, buf, sizeof(buf));
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				conn_fail(g, "read", n < 0 ? errno : 0);
				deliver(g);
				return;
			}
			if (nghttp2_session_mem_recv(g->sess, buf, (size_t)n) < 0) {
				conn_fail(g, "http/2", EPROTO);
				deliver(g);
				return;
			}
		}
	}
	int rc = flush(g);
	if (rc < 0) {
		conn_fail(g, "write", -rc);
	} else if (!nghttp2_session_want_read(g->sess) && !nghttp2_session_want_write(g->sess) &&
		   g->out_off == g->out_len) {
		session_ended(g);
	} else {
		update_events(g);
	}
	deliver(g);
}

static int conn_open(struct grpc_tp *g)
{
	g->fd = socket(g->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->fd < 0)
		return -errno;
	int one = 1;
	/* A request is one write: no reason to let Nagle hold its tail back. */
	setsockopt(g->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(g->fd, (struct sockaddr *)&g->addr, g->addrlen) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(g->fd);
		g->fd = -1;
		return -e;
	}
	g->connecting = true;
	if (!(g->w = loop_add_fd(g->loop, g->fd, EPOLLOUT, on_io, g))) {
		int e = errno;
		close(g->fd);
		g->fd = -1;
		return -e;
	}
	return 0;
}

static void on_timeout(void *arg)
{
	struct grpc_tp *g = arg;
	/* The stream may still be answered later; a new connection keeps it from being mistaken
	 * for the next request's reply. */
	finish(g, EXPORT_RETRY, "timed out");
	conn_close(g);
	deliver(g);
}

static int grpc_send(struct transport *t, const uint8_t *buf, size_t len, export_done_fn done, void *arg)
{
	struct grpc_tp *g = (struct grpc_tp *)t;
	if (g->done)
		return -EBUSY;
	if (g->gzip && otlp_gzip(&g->gz, buf, len, &buf, &len) < 0)
		return -ENOMEM;
	g->prefix[0] = g->gzip; /* compressed with the grpc-encoding the request names */
	g->prefix[1] = (uint8_t)(len >> 24);
	g->prefix[2] = (uint8_t)(len >> 16);
	g->prefix[3] = (uint8_t)(len >> 8);
	g->prefix[4] = (uint8_t)len;
	g->msg = buf;
	g->body_len = len + 5;
	g->done = done;
	g->arg = arg;
	g->finished = false;
	g->timer = loop_add_timer(g->loop, g->timeout_ms, 0, on_timeout, g);

	int rc = 0;
	if (g->fd < 0) {
		rc = conn_open(g); /* the request is submitted once connected */
		if (rc < 0) {
			conn_fail(g, "connect", -rc);
			rc = 0;
		}
	} else if (!g->connecting && !g->handshaking) {
		if (submit(g) < 0 || (rc = flush(g)) < 0)
			conn_fail(g, "write", rc < 0 ? -rc : EPROTO);
		else
			update_events(g);
		rc = 0;
	}
	if (g->finished) {
		/* Failed at once: report it from the loop, never from inside the caller's send. */
		loop_remove(g->timer);
		g->timer = loop_add_timer(g->loop, 1, 0, on_timeout, g);
	}
	return rc;
}

static void grpc_free(struct transport *t)
{
	struct grpc_tp *g = (struct grpc_tp *)t;
	conn_close(g);
	loop_remove(g->timer);
	free(g->resp);
	free(g->hdrs);
	otlp_gzip_free(&g->gz);
	SSL_CTX_free(g->tls);
	free(g);
}

/* The TLS settings every connection shares: TLS 1.2+, the server verified against the CA file
 * (or the system's store), a client certificate when given, ALPN h2. Logs one line on error. */
static SSL_CTX *tls_ctx_new(const struct otlp_export_opts *o)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	const char *what = "TLS", *file = "";
	if (!c)
		goto fail;
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (o->ca_file) {
		what = "--otlp-ca-file", file = o->ca_file;
		if (SSL_CTX_load_verify_locations(c, o->ca_file, NULL) != 1)
			goto fail;
	} else if (SSL_CTX_set_default_verify_paths(c) != 1) {
		what = "the system's CA store";
		goto fail;
	}
	if (o->client_cert) {
		what = "--otlp-client-cert", file = o->client_cert;
		if (SSL_CTX_use_certificate_chain_file(c, o->client_cert) != 1)
			goto fail;
		what = "--otlp-client-key", file = o->client_key;
		if (SSL_CTX_use_PrivateKey_file(c, o->client_key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(c) != 1)
			goto fail;
	}
	static const unsigned char alpn[] = { 2, 'h', '2' };
	what = "TLS ALPN", file = "";
	if (SSL_CTX_set_alpn_protos(c, alpn, sizeof(alpn)) != 0) /* 0 is success here */
		goto fail;
	return c;
fail:;
	char why[160] = "out of memory";
	unsigned long err = ERR_get_error();
	if (err)
		ERR_error_string_n(err, why, sizeof(why));
	log_error("trace", "%s %s: %s\n", what, file, why);
	SSL_CTX_free(c);
	return NULL;
}

struct transport *otlp_grpc_new(struct loop *l, const char *host, const char *port, unsigned timeout_ms,
				const struct otlp_export_opts *o)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	/* Resolved once, at start-up: getaddrinfo blocks, and the loop must not. */
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		log_error("trace", "--otlp-endpoint: %s:%s: %s\n", host, port, gai_strerror(rc));
		errno = EINVAL;
		return NULL;
	}
	struct grpc_tp *g = calloc(1, sizeof(*g));
	if (!g) {
		freeaddrinfo(ai);
		return NULL;
	}
	memcpy(&g->addr, ai->ai_addr, ai->ai_addrlen);
	g->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(g->authority, sizeof(g->authority), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	g->loop = l;
	g->fd = -1;
	g->stream = -1;
	g->timeout_ms = timeout_ms;
	g->tp.send = grpc_send;
	g->tp.free = grpc_free;
	snprintf(g->host, sizeof(g->host), "%s", host);
	g->gzip = o->gzip;
	if (o->nheaders) {
		if (!(g->hdrs = malloc(o->nheaders * sizeof(*g->hdrs)))) {
			grpc_free(&g->tp);
			return NULL;
		}
		memcpy(g->hdrs, o->headers, o->nheaders * sizeof(*g->hdrs));
		g->nhdrs = o->nheaders;
	}
	if (o->tls && !(g->tls = tls_ctx_new(o))) {
		grpc_free(&g->tp);
		errno = EINVAL;
		return NULL;
	}
	return &g->tp;
}
