// SPDX-License-Identifier: GPL-2.0
/* Pushgateway: PUT the agent's whole /metrics to /metrics/job/JOB/instance/POD on an interval
 * (PUT replaces the group, so series that vanished from /metrics vanish there too). A failed
 * push is retried after 1 s, 2 s, 4 s... up to the interval. */
#include "agent.h"
#include "http/server.h"
#include "loop/loop.h"
#include "fetch.h"
#include "internal.h"
#include "util/log.h"
#include "util/backoff.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Pushgateway's URL rules: a value that is empty or holds a '/' goes base64url-encoded with
 * "@base64" after the label name; anything else is percent-encoded as a path segment. */
static void put_group_label(struct strbuf *out, const char *name, const char *v)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	if (!*v || strchr(v, '/')) {
		sb_printf(out, "/%s@base64/", name);
		if (!*v) {
			sb_putc(out, '=');
			return;
		}
		const unsigned char *s = (const unsigned char *)v;
		size_t n = strlen(v);
		for (size_t i = 0; i < n; i += 3) {
			unsigned x = (unsigned)s[i] << 16 | (i + 1 < n ? s[i + 1] << 8 : 0) |
				(i + 2 < n ? s[i + 2] : 0);
			sb_putc(out, b64[x >> 18 & 63]);
			sb_putc(out, b64[x >> 12 & 63]);
			sb_putc(out, i + 1 < n ? b64[x >> 6 & 63] : '=');
			sb_putc(out, i + 2 < n ? b64[x & 63] : '=');
		}
		return;
	}
	sb_printf(out, "/%s/", name);
	for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    strchr("-._~", *s))
			sb_putc(out, (char)*s);
		else
			sb_printf(out, "%%%02X", *s);
	}
}

void push_group_path(struct strbuf *out, const char *job, const char *instance)
{
	sb_puts(out, "/metrics");
	put_group_label(out, "job", job);
	put_group_label(out, "instance", instance);
}

uint64_t push_backoff_ms(unsigned fails_in_row, uint64_t interval_ms, double rnd)
{
	return backoff_ms(fails_in_row, 1000, interval_ms, rnd);
}

static void push_done(void *arg, const struct fetch_result *r)
{
	struct appmetrics *m = arg;
	unsigned interval_ms = m->cfg->pushgateway_interval * 1000;
	m->pushing = false;
	if (r->ok && r->status >= 200 && r->status < 300) {
		m->pushes_ok++;
		if (m->push_fails_in_row) {
			log_info("appmetrics", "pushgateway %s: pushing again\n", m->push_url);
			loop_timer_rearm(m->push_timer, interval_ms, interval_ms);
		}
		m->push_fails_in_row = 0;
		return;
	}
	m->pushes_failed++;
	if (!m->push_fails_in_row++) {
		/* The Pushgateway says why it refused a push in the body's first line. */
		const char *b = r->body->buf ? r->body->buf : "";
		int blen = (int)strcspn(b, "\n");
		if (r->ok)
			log_error("appmetrics", "pushgateway %s: HTTP status %ld: %.*s\n", m->push_url,
				  r->status, blen > 200 ? 200 : blen, b);
		else
			log_error("appmetrics", "pushgateway %s: %s\n", m->push_url, r->error);
	}
	loop_timer_rearm(m->push_timer, push_backoff_ms(m->push_fails_in_row, interval_ms, backoff_rnd()),
			 interval_ms);
}

static void push_tick(void *arg)
{
	struct appmetrics *m = arg;
	if (m->pushing)
		return;
	struct strbuf body;
	sb_init(&body);
	m->rendering_for_push = true;
	http_server_render_metrics(m->a->http, &body, EXPO_PROMETHEUS);
	m->rendering_for_push = false;
	if (body.oom) {
		sb_free(&body);
		m->pushes_failed++;
		return;
	}
	struct fetch_req req = {
		.method = "PUT",
		.url = m->push_url,
		.content_type = "text/plain; version=0.0.4; charset=utf-8",
		.body = body.buf ? body.buf : "",
		.body_len = body.len,
		.timeout_ms = m->cfg->pushgateway_timeout_ms ? m->cfg->pushgateway_timeout_ms : 10000,
		.max_bytes = 64 * 1024,
	};
	m->pushing = fetch_start(m->fx, &req, push_done, m) == 0;
	if (!m->pushing)
		m->pushes_failed++;
	sb_free(&body);
}

int push_start(struct appmetrics *m)
{
	const struct obsbpf_config *c = m->cfg;
	if (!c->pushgateway)
		return 0;
	if (strncmp(c->pushgateway, "http://", 7) && strncmp(c->pushgateway, "https://", 8)) {
		log_error("appmetrics", "--pushgateway %s: expected an http:// or https:// URL\n",
			  c->pushgateway);
		return -1;
	}
	if (!c->pushgateway_interval || !c->pushgateway_job || !*c->pushgateway_job) {
		log_error("appmetrics",
			  "--pushgateway: needs a job name and an interval of at least 1 second\n");
		return -1;
	}
	struct strbuf u;
	sb_init(&u);
	sb_puts(&u, c->pushgateway);
	while (u.len && u.buf[u.len - 1] == '/')
		u.buf[--u.len] = '\0';
	/* attach: the pod's group; daemon: the node's, holding every pod's series (PUT replaces the
	 * group, so a pod gone from /metrics is gone from the Pushgateway at the next push) */
	push_group_path(&u, c->pushgateway_job, m->daemon ? m->a->pod.node : m->a->pod.name);
	if (u.oom) {
		sb_free(&u);
		return -1;
	}
	m->push_url = sb_steal(&u, NULL);
	/* The first push waits one interval: by then the first app scrape has landed. */
	m->push_timer = loop_add_timer(m->a->loop, c->pushgateway_interval * 1000ull,
				       c->pushgateway_interval * 1000ull, push_tick, m);
	if (!m->push_timer) {
		log_error("appmetrics", "pushgateway: timer: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void push_stop(struct appmetrics *m)
{
	loop_remove(m->push_timer);
	m->push_timer = NULL;
	if (m->push_url && m->cfg->pushgateway_delete) {
		struct strbuf err;
		sb_init(&err);
		struct fetch_req req = {
			.method = "DELETE", .url = m->push_url, .timeout_ms = 2000, .max_bytes = 64 * 1024
		};
		long st = fetch_blocking(&req, &err);
		if (st < 200 || st > 299)
			log_error("appmetrics", "pushgateway %s: delete failed: %s\n", m->push_url,
				  st < 0 ? (err.buf ? err.buf : "error") : "unexpected HTTP status");
		sb_free(&err);
	}
	free(m->push_url);
	m->push_url = NULL;
}

static void push_sample(struct appmetrics *m, struct strbuf *out, const char *extra, double v)
{
	if (!m->daemon && m->nt)
		am_sample(m->t[0], out, "obsbpf_pushgateway_pushes_total", extra, v);
	else
		am_node_sample(m, out, "obsbpf_pushgateway_pushes_total", extra, v);
}

void push_collect(struct appmetrics *m, struct strbuf *out, enum exposition_format f)
{
	if (!m->push_url)
		return;
	am_family(out, f, "obsbpf_pushgateway_pushes_total", "counter",
		  "Pushes of /metrics to the Pushgateway, by result.");
	push_sample(m, out, "result=\"ok\"", (double)m->pushes_ok);
	push_sample(m, out, "result=\"error\"", (double)m->pushes_failed);
}
