// SPDX-License-Identifier: GPL-2.0
/* Test driver for the span exporter, without a kernel: feeds the real tracer (user/trace)
 * synthetic request events and runs the agent's event loop until every span is accounted for
 * (exported or dropped) or a time limit passes, then prints the tracer's metrics and stops it
 * (its final flush included). Not part of the agent; built for the integration tests only.
 *
 * Usage: otlp_driver SPANS SECONDS [UNSAMPLED] -- [attach options: --otlp-endpoint ...]
 * Span i (0-based): trace id 0b5bbf00..i, span id 5b..i+1; even i a SERVER span "GET /users/:id"
 * (a root when i % 4 == 0, else child of span 0xab..i), odd i a CLIENT span "POST" whose parent
 * is span i-1, in span i-1's trace; status 503 when i % 10 == 4, 404 when i % 10 == 5, else 200. */
#include "cli/options.h"
#include "config.h"
#include "http/server.h"
#include "loop/loop.h"
#include "metrics/red.h"
#include "trace/trace.h"
#include "util/strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void make_event(struct obsbpf_http_event *e, uint32_t i, bool sampled)
{
	uint64_t now = loop_now_ns();
	uint32_t tr = i % 2 ? i - 1 : i; /* a client span continues the previous span's trace */
	memset(e, 0, sizeof(*e));
	e->start_ns = now - 1000000 - i;
	e->end_ns = now;
	e->dir = i % 2 ? OBSBPF_DIR_CLIENT : OBSBPF_DIR_SERVER;
	e->method = i % 2 ? OBSBPF_M_POST : OBSBPF_M_GET;
	e->status = i % 10 == 4 ? 503 : i % 10 == 5 ? 404 : 200;
	e->route_id = 7;
	e->tid = 1000 + i;
	e->addrs.family = AF_INET;
	e->addrs.local_port = i % 2 ? 40000 + (uint16_t)i : 8080;
	e->addrs.remote_port = i % 2 ? 8080 : 40000 + (uint16_t)i;
	inet_pton(AF_INET, "10.1.2.3", e->addrs.local);
	inet_pton(AF_INET, "10.9.8.7", e->addrs.remote);
	memcpy(e->trace.trace_id, "\x0b\x5b\xbf\x00", 4);
	put32(e->trace.trace_id + 12, tr);
	e->trace.span_id[0] = 0x5b;
	put32(e->trace.span_id + 4, i + 1);
	if (i % 2) {
		e->trace.parent_id[0] = 0x5b;
		put32(e->trace.parent_id + 4, i); /* span i-1's id */
	} else if (i % 4) {
		e->trace.parent_id[0] = 0xab;
		put32(e->trace.parent_id + 4, i);
	}
	e->trace.flags = sampled ? OBSBPF_TRACE_SAMPLED : 0;
	e->trace.origin = i % 2 ? OBSBPF_TO_THREAD : OBSBPF_TO_HEADER;
}

/* Sum of the samples of one family in a rendered text. */
static unsigned long long value_of(const char *text, const char *family)
{
	unsigned long long sum = 0;
	size_t fl = strlen(family);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, family, fl) && (p[fl] == '{' || p[fl] == ' ')) {
			const char *sp = strchr(p, '}');
			sp = sp ? sp + 1 : p + fl;
			sum += strtoull(sp, NULL, 10);
		}
	}
	return sum;
}

int main(int argc, char **argv)
{
	int dash = 1;
	while (dash < argc && strcmp(argv[dash], "--"))
		dash++;
	if (dash < 3 || dash > 4 || dash == argc) {
		fprintf(stderr, "usage: otlp_driver SPANS SECONDS [UNSAMPLED] -- [attach options]\n");
		return 2;
	}
	unsigned spans = (unsigned)atoi(argv[1]), secs = (unsigned)atoi(argv[2]);
	unsigned unsampled = dash == 4 ? (unsigned)atoi(argv[3]) : 0;
	static struct obsbpf_config cfg;
	argv[dash] = argv[0];
	if (options_parse(&cfg, CMD_ATTACH, "attach", argc - dash, argv + dash) < 0)
		return 2;
	struct loop *l = loop_new();
	if (!l || loop_stop_on_signals(l) < 0)
		return 1;
	struct tracer *t;
	int rc = tracer_start(&cfg, l, &t);
	if (rc < 0 || !t) {
		fprintf(stderr, "otlp_driver: tracing is %s\n", rc < 0 ? "misconfigured" : "off");
		return 1;
	}
	struct span_resource res = { cfg.service_name, "driver-pod", "drv-ns", "drv-node" };
	struct pod_labels pl = { "driver-pod", "drv-ns", "drv-node" };
	struct obsbpf_http_event e;
	for (unsigned i = 0; i < spans; i++) {
		make_event(&e, i, true);
		tracer_add(t, &e, &res, i % 2 ? NULL : "/users/:id");
	}
	for (unsigned i = 0; i < unsampled; i++) {
		make_event(&e, spans + i, false);
		tracer_add(t, &e, &res, NULL);
	}
	make_event(&e, 0, true);
	e.trace.origin = OBSBPF_TO_NONE; /* no trace context: not a span, not counted */
	tracer_add(t, &e, &res, NULL);

	struct strbuf m;
	sb_init(&m);
	uint64_t deadline = loop_now_ns() + secs * 1000000000ull;
	while (loop_now_ns() < deadline) {
		sb_reset(&m);
		tracer_render_metrics(t, &m, EXPO_PROMETHEUS, &pl);
		if (m.buf &&
		    value_of(m.buf, "obsbpf_trace_spans_exported_total") +
				    value_of(m.buf, "obsbpf_trace_spans_dropped_total") >=
			    spans)
			break;
		loop_run_once(l, 100);
	}
	sb_reset(&m);
	tracer_render_metrics(t, &m, EXPO_PROMETHEUS, &pl);
	fputs(m.buf ? m.buf : "", stdout);
	/* What the final flush (tracer_stop) delivers is in none of the counters printed: say when
	 * it has spans left to send. */
	unsigned long long done = 0;
	if (m.buf)
		done = value_of(m.buf, "obsbpf_trace_spans_exported_total") +
			value_of(m.buf, "obsbpf_trace_spans_dropped_total");
	if (done < spans)
		fprintf(stderr, "otlp_driver: after %u s, %llu of %u spans exported or dropped\n", secs, done,
			spans);
	fflush(stdout);
	sb_free(&m);
	tracer_stop(t);
	loop_free(l);
	return 0;
}
