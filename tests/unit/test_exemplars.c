// SPDX-License-Identifier: GPL-2.0
/* The exemplar store: one slot per series and bucket, latest sampled event wins, bounded,
 * evicted with the series; and its rendering in OpenMetrics only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "metrics/exemplars.h"
#include "metrics/red.h"
#include "util/strbuf.h"

static struct obsbpf_http_event ev(uint32_t route, uint16_t status, uint64_t dur_ns, uint8_t id)
{
	struct obsbpf_http_event e = { .start_ns = 1000,
				       .end_ns = 1000 + dur_ns,
				       .route_id = route,
				       .status = status,
				       .method = OBSBPF_M_GET,
				       .dir = OBSBPF_DIR_SERVER };
	e.trace.origin = OBSBPF_TO_HEADER;
	e.trace.flags = OBSBPF_TRACE_SAMPLED;
	memset(e.trace.trace_id, id, sizeof(e.trace.trace_id));
	memset(e.trace.span_id, id + 1, sizeof(e.trace.span_id));
	return e;
}

static struct obsbpf_hist_key key_of(const struct obsbpf_http_event *e)
{
	struct obsbpf_hist_key k;
	exemplars_key_of(e, &k);
	return k;
}

static void test_slot_per_bucket(void **state)
{
	(void)state;
	struct exemplars *x = exemplars_new(8);
	struct obsbpf_http_event a = ev(7, 200, 100000, 0xaa);		 /* exactly 100 us: le="0.0001" */
	struct obsbpf_http_event b = ev(7, 200, 100001, 0xbb);		 /* just above: le="0.00025" */
	struct obsbpf_http_event c = ev(7, 200, 3000000, 0xcc);		 /* 3 ms: le="0.005" */
	struct obsbpf_http_event d = ev(7, 200, 4000000, 0xdd);		 /* 4 ms: same bucket, later */
	struct obsbpf_http_event inf = ev(7, 200, 20000000000ull, 0xee); /* 20 s: +Inf */
	exemplars_record_at(x, &a, 1700000000001);
	exemplars_record_at(x, &b, 1700000000002);
	exemplars_record_at(x, &c, 1700000000003);
	exemplars_record_at(x, &d, 1700000000004);
	exemplars_record_at(x, &inf, 1700000000005);
	struct obsbpf_hist_key k = key_of(&a);
	const struct exemplar *s = exemplars_get(x, &k);
	assert_non_null(s);
	assert_true(s[0].set && s[0].trace_id[0] == 0xaa && s[0].value_ns == 100000);
	assert_true(s[1].set && s[1].trace_id[15] == 0xbb && s[1].span_id[7] == 0xbc);
	assert_false(s[2].set);
	assert_true(s[5].set && s[5].trace_id[0] == 0xdd && s[5].unix_ms == 1700000000004);
	assert_true(s[OBSBPF_HIST_NBOUNDS].set && s[OBSBPF_HIST_NBOUNDS].trace_id[0] == 0xee);
	assert_int_equal(exemplars_series(x), 1);
	/* another status is another series */
	struct obsbpf_hist_key other = k;
	other.status = 500;
	assert_null(exemplars_get(x, &other));
	exemplars_free(x);
}

static void test_unsampled_ignored(void **state)
{
	(void)state;
	struct exemplars *x = exemplars_new(8);
	struct obsbpf_http_event none = ev(1, 200, 1000, 0x11);
	none.trace.origin = OBSBPF_TO_NONE;
	struct obsbpf_http_event unsampled = ev(1, 200, 1000, 0x22);
	unsampled.trace.flags = 0;
	struct obsbpf_http_event zero = ev(1, 200, 1000, 0);
	exemplars_record_at(x, &none, 1);
	exemplars_record_at(x, &unsampled, 1);
	exemplars_record_at(x, &zero, 1);
	exemplars_record_at(NULL, &none, 1); /* no store: no-op */
	assert_int_equal(exemplars_series(x), 0);
	struct obsbpf_hist_key k = key_of(&none);
	assert_null(exemplars_get(x, &k));
	exemplars_free(x);
}

static void test_bounded_and_evicted(void **state)
{
	(void)state;
	enum {
		MAX = 40
	};
	struct exemplars *x = exemplars_new(MAX);
	struct dp_hist_entry h[MAX + 10];
	memset(h, 0, sizeof(h));
	for (uint32_t i = 0; i < MAX + 10; i++) {
		struct obsbpf_http_event e = ev(i, 200, 1000, (uint8_t)(i + 1));
		exemplars_record_at(x, &e, 5);
		h[i].key = key_of(&e);
	}
	assert_int_equal(exemplars_series(x), MAX);
	assert_int_equal(exemplars_dropped(x), 10);
	assert_non_null(exemplars_get(x, &h[MAX - 1].key));
	assert_null(exemplars_get(x, &h[MAX].key));
	/* The kernel now holds only the odd routes: the even ones go, the odd ones stay intact. */
	struct dp_hist_entry odd[MAX / 2];
	for (int i = 0; i < MAX / 2; i++)
		odd[i] = h[2 * i + 1];
	exemplars_retain(x, odd, MAX / 2);
	assert_int_equal(exemplars_series(x), MAX / 2);
	for (int i = 0; i < MAX; i++) {
		const struct exemplar *s = exemplars_get(x, &h[i].key);
		if (i % 2 == 0) {
			assert_null(s);
		} else {
			assert_non_null(s);
			assert_int_equal(s[0].trace_id[0], i + 1);
		}
	}
	/* room again for new series */
	struct obsbpf_http_event e = ev(1000, 200, 1000, 0x77);
	exemplars_record_at(x, &e, 5);
	struct obsbpf_hist_key k = key_of(&e);
	assert_non_null(exemplars_get(x, &k));
	exemplars_retain(x, NULL, 0);
	assert_int_equal(exemplars_series(x), 0);
	assert_null(exemplars_get(x, &k));
	exemplars_free(x);
}

static void test_wall_clock(void **state)
{
	(void)state;
	/* An event that ended "now" on CLOCK_MONOTONIC gets about the current wall-clock time. */
	struct timespec mono, real;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	struct obsbpf_http_event e = ev(3, 200, 1000, 0x42);
	e.end_ns = (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec;
	e.start_ns = e.end_ns - 1000;
	struct exemplars *x = exemplars_new(4);
	exemplars_record(x, &e);
	struct obsbpf_hist_key k = key_of(&e);
	const struct exemplar *s = exemplars_get(x, &k);
	assert_non_null(s);
	int64_t now_ms = (int64_t)real.tv_sec * 1000 + real.tv_nsec / 1000000;
	assert_true(s[0].unix_ms >= now_ms - 1000 && s[0].unix_ms <= now_ms + 1000);
	exemplars_free(x);
}

static const struct pod_labels L = { "web-1", "shop", "node-a" };

static void test_render_openmetrics(void **state)
{
	(void)state;
	struct exemplars *x = exemplars_new(8);
	struct obsbpf_http_event e = ev(7, 200, 3100000, 0);
	static const uint8_t tid[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
					 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
	static const uint8_t sid[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };
	memcpy(e.trace.trace_id, tid, 16);
	memcpy(e.trace.span_id, sid, 8);
	exemplars_record_at(x, &e, 1700000000123);
	struct dp_hist_entry h[1] = { { .key = key_of(&e) } };
	h[0].val.count = 42;
	h[0].val.sum_ns = 100000000;
	h[0].val.buckets[5] = 42;
	struct dp_route r[1] = { { .id = 7, .path = "/users" } };
	struct strbuf sb;
	sb_init(&sb);
	red_render(&sb, EXPO_OPENMETRICS, &L, h, 1, r, 1, x);
	assert_non_null(strstr(sb.buf,
			       "# TYPE http_server_request_duration_seconds histogram\n"
			       "# UNIT http_server_request_duration_seconds seconds\n"));
	assert_non_null(strstr(sb.buf,
			       ",le=\"0.005\"} 42 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\","
			       "span_id=\"00f067aa0ba902b7\"} 0.003100000 1700000000.123\n"));
	assert_non_null(strstr(sb.buf, ",le=\"0.01\"} 42\n")); /* no exemplar where none landed */
	/* only one exemplar in the whole text */
	assert_null(strstr(strstr(sb.buf, " # {") + 1, " # {"));
	/* The same snapshot in 0.0.4 text: no exemplar syntax, no UNIT. */
	sb_reset(&sb);
	red_render(&sb, EXPO_PROMETHEUS, &L, h, 1, r, 1, x);
	assert_null(strstr(sb.buf, "# {"));
	assert_null(strstr(sb.buf, "# UNIT"));
	assert_non_null(strstr(sb.buf, ",le=\"0.005\"} 42\n"));
	sb_free(&sb);
	exemplars_free(x);
}

/* A rendered bucket covering several kernel buckets carries the latest of their exemplars;
 * a client series is keyed by its server address too. */
static void test_render_covering_bucket(void **state)
{
	(void)state;
	struct exemplars *x = exemplars_new(8);
	struct obsbpf_http_event a = ev(7, 200, 90000, 0xaa);	 /* kernel bucket 0 (<= 100 us) */
	struct obsbpf_http_event b = ev(7, 200, 900000, 0xbb);	 /* kernel bucket 3 (<= 1 ms) */
	struct obsbpf_http_event c = ev(7, 200, 60000000, 0xcc); /* kernel bucket 9 (<= 75 ms) */
	exemplars_record_at(x, &b, 1700000000002);
	exemplars_record_at(x, &a, 1700000000001);
	exemplars_record_at(x, &c, 1700000000003);
	struct dp_hist_entry h[1] = { { .key = key_of(&a) } };
	h[0].val.count = 3;
	h[0].val.buckets[0] = h[0].val.buckets[3] = h[0].val.buckets[9] = 1;
	struct strbuf sb;
	sb_init(&sb);
	red_render(&sb, EXPO_OPENMETRICS, &L, h, 1, NULL, 0, x);
	assert_non_null(strstr(sb.buf, ",le=\"0.005\"} 2 # {trace_id=\"bbbbbbbb"));
	assert_non_null(strstr(sb.buf, ",le=\"0.075\"} 3 # {trace_id=\"cccccccc"));
	assert_non_null(strstr(sb.buf, ",le=\"0.05\"} 2\n"));
	sb_free(&sb);

	struct obsbpf_http_event cl = ev(7, 200, 900000, 0xdd);
	cl.dir = OBSBPF_DIR_CLIENT;
	cl.addrs.family = 2;
	cl.addrs.remote_port = 80;
	cl.addrs.remote[0] = 10;
	exemplars_record_at(x, &cl, 1700000000004);
	struct obsbpf_hist_key k = key_of(&cl);
	assert_int_equal(k.peer_port, 80);
	assert_int_equal(k.peer[0], 10);
	assert_non_null(exemplars_get(x, &k));
	k.peer_port = 81;
	assert_null(exemplars_get(x, &k));
	exemplars_free(x);
}

static void test_counters_openmetrics(void **state)
{
	(void)state;
	struct agent_counters c = { .events_read = 3, .exemplar_series = 2, .exemplars_dropped = 1 };
	struct strbuf sb;
	sb_init(&sb);
	agent_counters_render(&sb, EXPO_OPENMETRICS, &L, &c);
	/* OpenMetrics: the family is named without _total, its samples with it */
	assert_non_null(strstr(sb.buf, "# TYPE obsbpf_events_read counter\nobsbpf_events_read_total{"));
	assert_null(strstr(sb.buf, "# TYPE obsbpf_events_read_total"));
	assert_non_null(strstr(sb.buf, "later routes are \\\"_OTHER\\\".\n"));
	assert_non_null(strstr(sb.buf, "obsbpf_exemplar_series{k8s_pod_name=\"web-1\""));
	assert_non_null(
		strstr(sb.buf,
		       "obsbpf_exemplars_dropped_total{k8s_pod_name=\"web-1\",k8s_namespace_name=\"shop\","
		       "k8s_node_name=\"node-a\"} 1\n"));
	sb_reset(&sb);
	agent_counters_render(&sb, EXPO_PROMETHEUS, &L, &c);
	assert_non_null(strstr(sb.buf, "# TYPE obsbpf_events_read_total counter\n"));
	assert_non_null(strstr(sb.buf, "later routes are \"_OTHER\".\n"));
	sb_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_per_bucket),	     cmocka_unit_test(test_unsampled_ignored),
		cmocka_unit_test(test_bounded_and_evicted),  cmocka_unit_test(test_wall_clock),
		cmocka_unit_test(test_render_openmetrics),   cmocka_unit_test(test_render_covering_bucket),
		cmocka_unit_test(test_counters_openmetrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
