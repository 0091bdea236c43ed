// SPDX-License-Identifier: GPL-2.0
/* libcurl multi on the event loop, against a tiny HTTP responder on the same loop: a good
 * response, a refused connection, a timeout, an oversized body, a PUT with a body; and the
 * Pushgateway grouping-key encoding and the reserved family names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "appmetrics/appmetrics.h"
#include "appmetrics/fetch.h"
#include "appmetrics/internal.h"
#include "cli/options.h"
#include "loop/loop.h"
#include "util/strbuf.h"

enum mode {
	M_OK,
	M_SILENT,
	M_BIG
};

struct srv {
	struct loop *l;
	int lfd, cfd;
	struct loop_watch *lw, *cw;
	enum mode mode;
	struct strbuf req;
	unsigned short port;
};

struct done {
	bool called, ok, timed_out, too_large;
	long status;
	char body[256], ctype[128], error[256];
};

static void on_client(void *arg, uint32_t ev)
{
	struct srv *s = arg;
	char buf[4096];
	(void)ev;
	ssize_t n = read(s->cfd, buf, sizeof(buf));
	if (n > 0)
		sb_append(&s->req, buf, (size_t)n);
	const char *end = s->req.buf ? strstr(s->req.buf, "\r\n\r\n") : NULL;
	if (n > 0 && (!end || s->mode == M_SILENT))
		return;
	if (end && n > 0) {
		/* Wait for a declared body to arrive in full. */
		const char *cl = strcasestr(s->req.buf, "Content-Length: ");
		if (cl && s->req.len < (size_t)(end + 4 - s->req.buf) + (size_t)atoi(cl + 16))
			return;
		char resp[24000];
		int len;
		if (s->mode == M_BIG) {
			char body[20000];
			memset(body, 'a', sizeof(body));
			len = snprintf(
				resp, sizeof(resp),
				"HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%.*s",
				sizeof(body), (int)sizeof(body), body);
		} else {
			len = snprintf(resp, sizeof(resp),
				       "HTTP/1.1 202 Accepted\r\nContent-Type: text/plain; version=0.0.4\r\n"
				       "Content-Length: 6\r\nConnection: close\r\n\r\nup 1\n\n");
		}
		assert_int_equal(write(s->cfd, resp, (size_t)len), len);
	}
	loop_remove(s->cw);
	s->cw = NULL;
	close(s->cfd);
	s->cfd = -1;
}

static void on_accept(void *arg, uint32_t ev)
{
	struct srv *s = arg;
	(void)ev;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return;
	s->cfd = fd;
	s->cw = loop_add_fd(s->l, fd, EPOLLIN, on_client, s);
}

static unsigned short listen_on(int *fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(*fd >= 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(*fd, 8), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static void srv_start(struct srv *s, struct loop *l, enum mode m)
{
	memset(s, 0, sizeof(*s));
	s->l = l;
	s->mode = m;
	s->cfd = -1;
	s->port = listen_on(&s->lfd);
	s->lw = loop_add_fd(l, s->lfd, EPOLLIN, on_accept, s);
}

static void srv_stop(struct srv *s)
{
	loop_remove(s->cw);
	loop_remove(s->lw);
	if (s->cfd >= 0)
		close(s->cfd);
	close(s->lfd);
	sb_free(&s->req);
}

static void on_done(void *arg, const struct fetch_result *r)
{
	struct done *d = arg;
	d->called = true;
	d->ok = r->ok;
	d->status = r->status;
	d->timed_out = r->timed_out;
	d->too_large = r->too_large;
	snprintf(d->body, sizeof(d->body), "%s", r->body->buf ? r->body->buf : "");
	snprintf(d->ctype, sizeof(d->ctype), "%s", r->content_type ? r->content_type : "");
	snprintf(d->error, sizeof(d->error), "%s", r->error ? r->error : "");
}

/* Runs the loop until the request is done (5 s at most). */
static void run_until(struct loop *l, struct done *d)
{
	uint64_t deadline = loop_now_ns() + 5000000000ull;
	while (!d->called && loop_now_ns() < deadline)
		loop_run_once(l, 50);
	assert_true(d->called);
}

static void fetch(struct loop *l, struct fetcher *f, struct fetch_req *req, struct done *d)
{
	memset(d, 0, sizeof(*d));
	assert_int_equal(fetch_start(f, req, on_done, d), 0);
	run_until(l, d);
}

static void test_fetch_on_loop(void **state)
{
	(void)state;
	struct loop *l = loop_new();
	struct fetcher *f = fetcher_new(l);
	struct srv s;
	struct done d;
	char url[64];
	assert_non_null(f);

	srv_start(&s, l, M_OK);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", s.port);
	struct fetch_req get = { .url = url, .accept = "text/plain", .timeout_ms = 2000 };
	fetch(l, f, &get, &d);
	assert_true(d.ok);
	assert_int_equal(d.status, 202);
	assert_string_equal(d.body, "up 1\n\n");
	assert_string_equal(d.ctype, "text/plain; version=0.0.4");
	assert_non_null(strstr(s.req.buf, "GET /metrics HTTP/1.1\r\n"));
	assert_non_null(strstr(s.req.buf, "Accept: text/plain\r\n"));
	sb_reset(&s.req);

	struct fetch_req put = { .method = "PUT",
				 .url = url,
				 .content_type = "text/plain",
				 .body = "a 1\n",
				 .body_len = 4,
				 .timeout_ms = 2000 };
	fetch(l, f, &put, &d);
	assert_true(d.ok);
	assert_non_null(strstr(s.req.buf, "PUT /metrics HTTP/1.1\r\n"));
	assert_non_null(strstr(s.req.buf, "\r\n\r\na 1\n"));
	srv_stop(&s);

	srv_start(&s, l, M_BIG);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/big", s.port);
	struct fetch_req big = { .url = url, .timeout_ms = 2000, .max_bytes = 1000 };
	fetch(l, f, &big, &d);
	assert_false(d.ok);
	assert_true(d.too_large);
	srv_stop(&s);

	srv_start(&s, l, M_SILENT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/slow", s.port);
	struct fetch_req slow = { .url = url, .timeout_ms = 300 };
	uint64_t t0 = loop_now_ns();
	fetch(l, f, &slow, &d);
	assert_false(d.ok);
	assert_true(d.timed_out);
	assert_true(loop_now_ns() - t0 < 3000000000ull);
	srv_stop(&s);

	int fd;
	unsigned short closed = listen_on(&fd);
	close(fd); /* nothing listens there any more */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", closed);
	struct fetch_req refused = { .url = url, .timeout_ms = 2000 };
	fetch(l, f, &refused, &d);
	assert_false(d.ok);
	assert_false(d.timed_out);
	assert_non_null(strcasestr(d.error, "connect"));

	/* A request still in flight when the fetcher goes: cancelled, no callback, no leak. */
	srv_start(&s, l, M_SILENT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/slow", s.port);
	memset(&d, 0, sizeof(d));
	assert_int_equal(fetch_start(f, &slow, on_done, &d), 0);
	loop_run_once(l, 50);
	fetcher_free(f);
	assert_false(d.called);
	srv_stop(&s);
	loop_free(l);
}

static void test_group_path(void **state)
{
	(void)state;
	struct strbuf p;
	sb_init(&p);
	push_group_path(&p, "obsbpf", "web-7d4b9");
	assert_string_equal(p.buf, "/metrics/job/obsbpf/instance/web-7d4b9");
	sb_reset(&p);
	/* A '/' cannot be escaped in a path segment: base64url with @base64 (Pushgateway rule). */
	push_group_path(&p, "a/b", "x y%");
	assert_string_equal(p.buf, "/metrics/job@base64/YS9i/instance/x%20y%25");
	sb_reset(&p);
	push_group_path(&p, "j", "");
	assert_string_equal(p.buf, "/metrics/job/j/instance@base64/=");
	sb_reset(&p);
	push_group_path(&p,
			"/?"
			"?>",
			"ok"); /* split: "??>" is a trigraph */
	assert_string_equal(p.buf, "/metrics/job@base64/Lz8_Pg==/instance/ok");
	sb_free(&p);
}

static void test_push_backoff(void **state)
{
	(void)state;
	/* doubling from 1 s, capped at the push interval, jittered to 50..100% of the step */
	assert_int_equal(push_backoff_ms(1, 15000, 0), 500);
	assert_int_equal(push_backoff_ms(2, 15000, 0), 1000);
	assert_int_equal(push_backoff_ms(4, 15000, 0), 4000);
	assert_int_equal(push_backoff_ms(5, 15000, 0.999999), 14999);
	assert_int_equal(push_backoff_ms(1000, 15000, 0), 7500);
	assert_true(push_backoff_ms(1, 500, 0.999999) <= 1000);
}

static void test_options(void **state)
{
	(void)state;
	struct obsbpf_config c = { 0 };
	char *argv[] = { "attach", "--label", "team=a", "--label", "tier=web", "--app-metrics", "off" };
	assert_int_equal(options_parse(&c, CMD_ATTACH, "attach", 7, argv), 0);
	assert_int_equal(c.labels.n, 2);
	assert_string_equal(c.labels.v[0], "team=a");
	assert_string_equal(c.labels.v[1], "tier=web");
	assert_string_equal(c.app_metrics, "off");
	assert_int_equal(c.app_metrics_interval, 15);
	assert_int_equal(c.app_health_failures, 3);
	assert_string_equal(c.pushgateway_job, "obsbpf");
	assert_null(c.app_health);
	assert_false(c.pushgateway_delete);

	/* More --label than the list holds: one line, refused. */
	char *many[1 + 2 * (OPT_LIST_MAX + 1)];
	many[0] = "attach";
	for (int i = 0; i <= OPT_LIST_MAX; i++) {
		many[1 + 2 * i] = "--label";
		many[2 + 2 * i] = "a=b";
	}
	struct obsbpf_config c2 = { 0 };
	assert_int_equal(options_parse(&c2, CMD_ATTACH, "attach", 1 + 2 * (OPT_LIST_MAX + 1), many), -1);
}

static void test_reserved(void **state)
{
	(void)state;
	assert_true(appmetrics_reserved_name("obsbpf_app_up"));
	assert_true(appmetrics_reserved_name("http_server_request_duration_seconds"));
	assert_true(appmetrics_reserved_name("http_client_request_duration_seconds_bucket"));
	assert_true(appmetrics_reserved_name("http_server_request_duration_seconds_count"));
	assert_false(appmetrics_reserved_name("http_server_request_duration_seconds_total"));
	assert_false(appmetrics_reserved_name("http_requests_total"));
	assert_false(appmetrics_reserved_name("app_obsbpf_x"));
}

static void test_family_header(void **state)
{
	(void)state;
	struct strbuf o;
	sb_init(&o);
	am_family(&o, EXPO_OPENMETRICS, "obsbpf_app_scrapes_total", "counter", "h");
	am_family(&o, EXPO_PROMETHEUS, "obsbpf_app_scrapes_total", "counter", "h");
	assert_string_equal(o.buf,
			    "# HELP obsbpf_app_scrapes h\n# TYPE obsbpf_app_scrapes counter\n"
			    "# HELP obsbpf_app_scrapes_total h\n# TYPE obsbpf_app_scrapes_total counter\n");
	sb_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_on_loop), cmocka_unit_test(test_group_path),
		cmocka_unit_test(test_push_backoff),  cmocka_unit_test(test_options),
		cmocka_unit_test(test_reserved),      cmocka_unit_test(test_family_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
