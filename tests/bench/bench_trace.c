// SPDX-License-Identifier: GPL-2.0
/* `make bench`: the span exporter's CPU cost per span in the agent: turning a kernel event into
 * a queued span (tracer_add's work) and encoding 512-span OTLP requests with protobuf-c.
 * Reported as medians per span; nothing here asserts. The network side is measured by the
 * integration tests' behaviour, not timed here. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "trace/internal.h"

#define RUNS	31
#define BATCH	512
#define BATCHES 40

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

int main(void)
{
	static struct span spans[BATCH];
	const struct span *v[BATCH];
	struct span_resource res = { "checkout", "web-7d4b9", "shop", "node-a" };
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
		for (int b = 0; b < BATCHES; b++) {
			for (int i = 0; i < BATCH; i++) {
				e.start_ns = (uint64_t)(b * BATCH + i) * 1000;
				e.end_ns = e.start_ns + 250000;
				e.addrs.remote_port = (uint16_t)(40000 + i);
				e.trace.span_id[7] = (uint8_t)i;
				span_from_event(&spans[i], &e, "/api/v1/items/:id", 0, 0);
			}
		}
		double t1 = now_ns();
		for (int i = 0; i < BATCH; i++)
			v[i] = &spans[i];
		for (int b = 0; b < BATCHES; b++) {
			const uint8_t *buf;
			size_t len;
			if (otlp_encode(&sc, v, BATCH, &res, 1, &buf, &len) < 0)
				return 1;
			bytes = len;
		}
		double t2 = now_ns();
		t_map[r] = (t1 - t0) / (BATCH * BATCHES);
		t_enc[r] = (t2 - t1) / (BATCH * BATCHES);
	}
	otlp_scratch_free(&sc);
	qsort(t_map, RUNS, sizeof(double), cmp);
	qsort(t_enc, RUNS, sizeof(double), cmp);
	printf("span export, per span (median of %d runs of %d spans):\n", RUNS, BATCH * BATCHES);
	printf("  %-44s %7.0f ns\n", "event -> span record", t_map[RUNS / 2]);
	printf("  %-44s %7.0f ns  (%zu bytes per %d-span request, %.0f per span)\n",
	       "OTLP protobuf encoding (protobuf-c)", t_enc[RUNS / 2], bytes, BATCH, (double)bytes / BATCH);
	printf("  %-44s %7.0f spans/s of one core\n", "together", 1e9 / (t_map[RUNS / 2] + t_enc[RUNS / 2]));
	return 0;
}
