// SPDX-License-Identifier: GPL-2.0
/* `make bench`: the span exporter's CPU cost per span in the agent: turning a kernel event into
 * a queued span (tracer_add's work), encoding OTLP requests of 512 spans (the default batch),
 * the same by batch size (what a request's fixed part costs each span), and gzip on top.
 * Reported as medians per span; nothing here asserts. The network side is measured by the
 * integration tests' behaviour and by trace.sh's agent CPU, not timed here. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "trace/internal.h"

#define RUNS	31
#define BATCH	512
#define MAX_B	2048
#define SPANS	20480 /* spans per run, whatever the batch size */
#define RUNS_BY 11    /* runs per batch size */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp);
	return v[n / 2];
}

static struct span spans[MAX_B];
static const struct span *v[MAX_B];
static const struct span_resource res = { "checkout", "web-7d4b9", "shop", "node-a" };

/* Median ns per span of encoding SPANS spans in requests of `batch`; *bytes: one request's. */
static double encode_ns(struct otlp_scratch *sc, size_t batch, int runs, size_t *bytes)
{
	double t[RUNS];
	for (int r = 0; r < runs; r++) {
		double t0 = now_ns();
		for (size_t done = 0; done < SPANS; done += batch) {
			const uint8_t *buf;
			size_t len;
			if (otlp_encode(sc, v, batch, &res, 1, &buf, &len) < 0)
				exit(1);
			*bytes = len;
		}
		t[r] = (now_ns() - t0) / SPANS;
	}
	return median(t, runs);
}

/* Spans as trace.sh's attached config exports them (client spans, url.full), or server spans. */
static void make_spans(uint8_t dir)
{
	struct obsbpf_http_event e = { 0 };
	e.dir = dir;
	e.method = OBSBPF_M_GET;
	e.status = 200;
	e.tid = 4242;
	e.addrs.family = AF_INET;
	e.addrs.local_port = dir == OBSBPF_DIR_SERVER ? 8080 : 40000;
	inet_pton(AF_INET, "10.1.2.3", e.addrs.local);
	inet_pton(AF_INET, "10.9.8.7", e.addrs.remote);
	e.trace.flags = OBSBPF_TRACE_SAMPLED;
	e.trace.origin = OBSBPF_TO_HEADER;
	for (int i = 0; i < MAX_B; i++) {
		e.start_ns = (uint64_t)i * 1000;
		e.end_ns = e.start_ns + 250000;
		e.addrs.remote_port = (uint16_t)(dir == OBSBPF_DIR_SERVER ? 40000 + i : 8080);
		e.trace.span_id[7] = (uint8_t)i;
		e.trace.span_id[6] = (uint8_t)(i >> 8);
		span_from_event(&spans[i], &e, "/api/v1/items/:id", 0, 0);
		v[i] = &spans[i];
	}
}

int main(void)
{
	struct obsbpf_http_event e = { 0 };
	double t_map[RUNS], t_enc[RUNS];
	struct otlp_scratch sc = { 0 };
	size_t bytes = 0;

	e.dir = OBSBPF_DIR_SERVER;
	e.method = OBSBPF_M_GET;
	e.status = 200;
	e.addrs.family = AF_INET;
	e.addrs.local_port = 8080;
	inet_pton(AF_INET, "10.1.2.3", e.addrs.local);
	inet_pton(AF_INET, "10.9.8.7", e.addrs.remote);
	e.trace.flags = OBSBPF_TRACE_SAMPLED;
	e.trace.origin = OBSBPF_TO_HEADER;
	for (int r = 0; r < RUNS; r++) {
		double t0 = now_ns();
		for (int i = 0; i < SPANS; i++) {
			e.start_ns = (uint64_t)i * 1000;
			e.end_ns = e.start_ns + 250000;
			e.addrs.remote_port = (uint16_t)(40000 + i % BATCH);
			e.trace.span_id[7] = (uint8_t)i;
			span_from_event(&spans[i % BATCH], &e, "/api/v1/items/:id", 0, 0);
		}
		t_map[r] = (now_ns() - t0) / SPANS;
	}
	make_spans(OBSBPF_DIR_SERVER);
	for (int r = 0; r < RUNS; r++)
		t_enc[r] = encode_ns(&sc, BATCH, 1, &bytes);
	double map = median(t_map, RUNS), enc = median(t_enc, RUNS);
	printf("span export, per span (median of %d runs of %d spans):\n", RUNS, SPANS);
	printf("  %-44s %7.0f ns\n", "event -> span record", map);
	printf("  %-44s %7.0f ns  (%zu bytes per %d-span request, %.0f per span)\n",
	       "OTLP encoding, server spans", enc, bytes, BATCH, (double)bytes / BATCH);
	printf("  %-44s %7.0f spans/s of one core\n", "together", 1e9 / (map + enc));

	/* By batch size, client spans (trace.sh's): each request's resource and envelope are
	 * shared by its spans. */
	make_spans(OBSBPF_DIR_CLIENT);
	static const size_t sizes[] = { 1, 16, 64, 128, 256, 512, 1024, 2048 };
	printf("  OTLP encoding of client spans by --otlp-batch (median of %d runs):\n", RUNS_BY);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double ns = encode_ns(&sc, sizes[i], RUNS_BY, &bytes);
		printf("    batch %4zu %7.0f ns per span  (%.0f bytes per span)\n", sizes[i], ns,
		       (double)bytes / sizes[i]);
	}

	/* --otlp-compression gzip: zlib level 1 over a 512-span request, per span. */
	struct otlp_gzip gz = { 0 };
	const uint8_t *buf, *zbuf;
	size_t len, zlen = 0;
	double t_gz[RUNS_BY];
	if (otlp_encode(&sc, v, BATCH, &res, 1, &buf, &len) < 0)
		return 1;
	for (int r = 0; r < RUNS_BY; r++) {
		double t0 = now_ns();
		for (size_t done = 0; done < SPANS; done += BATCH)
			if (otlp_gzip(&gz, buf, len, &zbuf, &zlen) < 0)
				return 1;
		t_gz[r] = (now_ns() - t0) / SPANS;
	}
	printf("  %-44s %7.0f ns  (%zu -> %zu bytes per request)\n", "gzip (level 1), per span, client spans",
	       median(t_gz, RUNS_BY), len, zlen);
	otlp_gzip_free(&gz);
	otlp_scratch_free(&sc);
	return 0;
}
