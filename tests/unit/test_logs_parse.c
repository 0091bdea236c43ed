// SPDX-License-Identifier: GPL-2.0
/* Log parsing, enrichment and the Forward entry encoding (decoded back with msgpack-c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "logs/parse.h"
#include "logs/podlog.h"
#include "logs/record.h"
#include "util/strbuf.h"

static struct log_parser P;

static int setup(void **st)
{
	(void)st;
	return log_parser_init(&P);
}

static int teardown(void **st)
{
	(void)st;
	log_parser_free(&P);
	return 0;
}

static void parse(const char *s, struct log_parsed *r)
{
	log_parse(&P, s, strlen(s), r);
}

static void test_json_fields_level_trace(void **st)
{
	(void)st;
	struct log_parsed r;
	parse("{\"msg\":\"hi\",\"level\":\"WARNING\",\"traceId\":\"4BF92F3577B34DA6A3CE929D0E0E4736\","
	      "\"span_id\":\"00f067aa0ba902b7\",\"n\":3}",
	      &r);
	assert_int_equal(r.format, LOG_JSON);
	assert_false(r.json_error);
	assert_string_equal(r.level, "warn");
	assert_string_equal(r.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(r.span_id, "00f067aa0ba902b7");
}

static void test_json_numeric_level_and_traceparent(void **st)
{
	(void)st;
	struct log_parsed r;
	parse("{\"level\":50,\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}",
	      &r);
	assert_int_equal(r.format, LOG_JSON);
	assert_string_equal(r.level, "error");
	assert_string_equal(r.trace_id, "0af7651916cd43dd8448eb211c80319c");
	assert_string_equal(r.span_id, "b7ad6b7169203331");
}

static void test_malformed_json_is_plain(void **st)
{
	(void)st;
	struct log_parsed r;
	parse("{\"msg\":\"unterminated, ERROR here", &r);
	assert_int_equal(r.format, LOG_PLAIN);
	assert_true(r.json_error);
	assert_string_equal(r.level, "error");
	parse("{\"a\":1} trailing", &r);
	assert_int_equal(r.format, LOG_PLAIN);
	assert_true(r.json_error);
	parse("[1,2]", &r); /* not an object: plain, not an error */
	assert_int_equal(r.format, LOG_PLAIN);
}

static void test_logfmt(void **st)
{
	(void)st;
	struct log_parsed r;
	parse("ts=2024-01-01 level=info msg=\"hello \\\"world\\\"\" trace_id=0af7651916cd43dd8448eb211c80319c",
	      &r);
	assert_int_equal(r.format, LOG_LOGFMT);
	assert_int_equal(r.npairs, 4);
	assert_string_equal(r.level, "info");
	assert_string_equal(r.trace_id, "0af7651916cd43dd8448eb211c80319c");
	assert_int_equal(r.pairs[2].val_len, strlen("hello \\\"world\\\""));
	/* a sentence with one '=' is not logfmt */
	parse("user logged in with id=3 ok", &r);
	assert_int_equal(r.format, LOG_PLAIN);
}

static void test_plain_level_and_ids(void **st)
{
	(void)st;
	struct log_parsed r;
	parse("2024-01-01 12:00:00 WARN disk almost full", &r);
	assert_string_equal(r.level, "warn");
	parse("[error] upstream timed out", &r);
	assert_string_equal(r.level, "error");
	parse("an error happened but lowercase words are not levels", &r);
	assert_null(r.level);
	parse("GET / traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 done", &r);
	assert_string_equal(r.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(r.span_id, "00f067aa0ba902b7");
	/* traceparent at the very end of the line */
	parse("x 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &r);
	assert_string_equal(r.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
	/* all-zero ids are invalid (W3C) */
	parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01", &r);
	assert_string_equal(r.trace_id, "");
	parse("request done trace_id=4bf92f3577b34da6a3ce929d0e0e4736, status 200", &r);
	assert_string_equal(r.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
}

static void test_cri(void **st)
{
	(void)st;
	struct cri_line c;
	const char *l = "2016-10-06T00:17:09.669794202Z stdout P part one";
	assert_int_equal(cri_parse(l, strlen(l), &c), 0);
	assert_true(c.partial);
	assert_int_equal(c.time_ns, 1475713029669794202ull);
	assert_int_equal(c.stream_len, 6);
	assert_memory_equal(c.msg, "part one", 8);
	l = "2016-10-06T02:17:09+02:00 stderr F";
	assert_int_equal(cri_parse(l, strlen(l), &c), 0);
	assert_false(c.partial);
	assert_int_equal(c.time_ns, 1475713029000000000ull);
	assert_int_equal(c.msg_len, 0);
	l = "not a cri line";
	assert_int_equal(cri_parse(l, strlen(l), &c), -EINVAL);
	l = "2016-10-06T00:17:09Z stdin F x";
	assert_int_equal(cri_parse(l, strlen(l), &c), -EINVAL);
}

static const msgpack_object *map_get(const msgpack_object *m, const char *k)
{
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;
		if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen(k) &&
		    !memcmp(key->via.str.ptr, k, key->via.str.size))
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

static void assert_str(const msgpack_object *o, const char *want)
{
	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_STR);
	assert_int_equal(o->via.str.size, strlen(want));
	assert_memory_equal(o->via.str.ptr, want, strlen(want));
}

static void test_record_encoding(void **st)
{
	(void)st;
	const char *line = "{\"msg\":\"hi\",\"pod\":\"spoof\",\"n\":-3,\"ok\":true,\"a\":[1,{\"b\":null}],"
			   "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}";
	struct log_parsed r;
	parse(line, &r);
	struct log_meta m = { .pod = "web-1",
			      .namespace_ = "shop",
			      .node = "n1",
			      .container = "app",
			      .file = "/var/log/app/a.log" };
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	log_record_pack(&pk, 1700000000123456789ull, line, strlen(line), &r, &m);

	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, sb.size);
	const msgpack_object *e = &u.data;
	assert_int_equal(e->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(e->via.array.size, 2);
	const msgpack_object *t = &e->via.array.ptr[0];
	assert_int_equal(t->type, MSGPACK_OBJECT_EXT);
	assert_int_equal(t->via.ext.type, 0);
	assert_int_equal(t->via.ext.size, 8);
	const unsigned char *b = (const unsigned char *)t->via.ext.ptr;
	assert_int_equal((uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3], 1700000000u);
	assert_int_equal((uint32_t)b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7], 123456789u);
	const msgpack_object *rec = &e->via.array.ptr[1];
	assert_int_equal(rec->type, MSGPACK_OBJECT_MAP);
	assert_str(map_get(rec, "log"), line);
	assert_str(map_get(rec, "pod"), "web-1"); /* the agent's value, the line's is not repeated */
	assert_str(map_get(rec, "namespace"), "shop");
	assert_str(map_get(rec, "node"), "n1");
	assert_str(map_get(rec, "container"), "app");
	assert_str(map_get(rec, "file"), "/var/log/app/a.log");
	assert_str(map_get(rec, "format"), "json");
	assert_str(map_get(rec, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_str(map_get(rec, "msg"), "hi");
	assert_null(map_get(rec, "span_id"));
	assert_null(map_get(rec, "level"));
	const msgpack_object *n = map_get(rec, "n");
	assert_non_null(n);
	assert_int_equal(n->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
	assert_int_equal(n->via.i64, -3);
	const msgpack_object *a = map_get(rec, "a");
	assert_non_null(a);
	assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(a->via.array.ptr[1].type, MSGPACK_OBJECT_MAP);
	/* keys are unique: 7 agent keys (log..format, trace_id) + msg, n, ok, a */
	assert_int_equal(rec->via.map.size, 12);

	struct strbuf js;
	sb_init(&js);
	assert_int_equal(log_entry_to_json(e, &js), 0);
	assert_non_null(strstr(js.buf, "\"time\":1700000000.123456789,"));
	assert_non_null(strstr(js.buf, "\"log\":\"{\\\"msg\\\":\\\"hi\\\""));
	assert_non_null(strstr(js.buf, "\"a\":[1,{\"b\":null}]"));
	sb_free(&js);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

static void test_docker_json(void **st)
{
	(void)st;
	struct cri_line c;
	struct strbuf msg;
	sb_init(&msg);
	const char *l =
		"{\"log\":\"hello \\\"x\\\"\\n\",\"stream\":\"stderr\",\"time\":\"2016-10-06T00:17:09.669794202Z\"}";
	assert_int_equal(docker_json_parse(&P, l, strlen(l), &c, &msg), 0);
	assert_false(c.partial);
	assert_int_equal(c.time_ns, 1475713029669794202ull);
	assert_int_equal(c.stream_len, 6);
	assert_memory_equal(c.stream, "stderr", 6);
	assert_int_equal(c.msg_len, 9);
	assert_memory_equal(c.msg, "hello \"x\"", 9);
	/* docker splits a long line: a piece without "\n" continues in the next entry */
	l = "{\"log\":\"part\",\"stream\":\"stdout\",\"time\":\"2016-10-06T00:17:09Z\"}";
	assert_int_equal(docker_json_parse(&P, l, strlen(l), &c, &msg), 0);
	assert_true(c.partial);
	assert_int_equal(c.msg_len, 4);
	l = "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2016-10-06T00:17:09Z\"}";
	assert_int_equal(docker_json_parse(&P, l, strlen(l), &c, &msg), 0);
	assert_false(c.partial);
	assert_int_equal(c.msg_len, 0);
	const char *bad[] = {
		"{\"log\":\"x\\n\",\"stream\":\"stdin\",\"time\":\"2016-10-06T00:17:09Z\"}",
		"{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"yesterday\"}",
		"{\"log\":\"x\\n\",\"stream\":\"stdout\"}",
		"{\"log\":1,\"stream\":\"stdout\",\"time\":\"2016-10-06T00:17:09Z\"}",
		"{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"2016-10-06T00:17:09Z\"} trailing",
		"{\"msg\":\"an app's own JSON line\"}",
		"[1,2]",
		"{\"log\":",
		"2016-10-06T00:17:09Z stdout F cri",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(docker_json_parse(&P, bad[i], strlen(bad[i]), &c, &msg), -EINVAL);
	sb_free(&msg);
}

static void test_pod_log_path(void **st)
{
	(void)st;
	struct pod_log_file f;
	assert_int_equal(pod_log_path_parse("/var/log/pods/shop_web-1_0f3c-9a1e/app/0.log", &f), 0);
	assert_string_equal(f.pod.namespace_, "shop");
	assert_string_equal(f.pod.name, "web-1");
	assert_string_equal(f.pod.uid, "0f3c-9a1e");
	assert_string_equal(f.container, "app");
	assert_int_equal(f.restart, 0);
	assert_false(f.rotated);
	assert_int_equal(pod_log_path_parse("/p/kube-system_coredns-x_u/coredns/12.log.20240501-100000", &f),
			 0);
	assert_int_equal(f.restart, 12);
	assert_true(f.rotated);
	assert_string_equal(f.container, "coredns");
	assert_int_equal(pod_log_path_parse("ns_pod_uid/c/3.log", &f), 0); /* relative */
	assert_int_equal(f.restart, 3);
	const char *bad[] = {
		"/p/shop_web-1_u/app/0.log.20240501-100000.gz", /* compressed: the kubelet's */
		"/p/shop_web-1_u/app/0.log.20240501-100000.tmp",
		"/p/shop_web-1_u/app/0.log.",
		"/p/shop_web-1_u/app/0.logx",
		"/p/shop_web-1_u/app/x.log",
		"/p/shop_web-1_u/app/-1.log",
		"/p/shop_web_1_u/app/0.txt",
		"/p/shopweb1u/app/0.log", /* no namespace_pod_uid directory */
		"/p/shop_web-1_u//0.log",
		"0.log",
		"app/0.log",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pod_log_path_parse(bad[i], &f), -EINVAL);
	char a[64], b[64];
	pod_log_globs("/var/log/pods", a, b, sizeof(a));
	assert_string_equal(a, "/var/log/pods/*_*_*/*/*.log");
	assert_string_equal(b, "/var/log/pods/*_*_*/*/*.log.*");
}

/* Daemon mode's records name their pod as the metrics do, with the restart count a number. */
static void test_record_k8s_keys(void **st)
{
	(void)st;
	const char *line = "{\"msg\":\"hi\",\"k8s_pod_name\":\"spoof\",\"k8s_container_restart_count\":9}";
	struct log_parsed r;
	parse(line, &r);
	struct log_meta m = { .pod = "pg-0",
			      .namespace_ = "billing",
			      .uid = "0f3c-9a1e",
			      .node = "n1",
			      .container = "db",
			      .has_restart = true,
			      .restart = 2,
			      .stream = "stdout",
			      .file = "/var/log/pods/billing_pg-0_0f3c-9a1e/db/2.log",
			      .k8s_keys = true };
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	log_record_pack(&pk, 1700000000000000000ull, line, strlen(line), &r, &m);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
	const msgpack_object *rec = &u.data.via.array.ptr[1];
	assert_str(map_get(rec, "k8s_pod_name"), "pg-0");
	assert_str(map_get(rec, "k8s_namespace_name"), "billing");
	assert_str(map_get(rec, "k8s_pod_uid"), "0f3c-9a1e");
	assert_str(map_get(rec, "k8s_node_name"), "n1");
	assert_str(map_get(rec, "k8s_container_name"), "db");
	assert_str(map_get(rec, "stream"), "stdout");
	assert_str(map_get(rec, "msg"), "hi");
	const msgpack_object *rc = map_get(rec, "k8s_container_restart_count");
	assert_non_null(rc);
	assert_int_equal(rc->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(rc->via.u64, 2);
	assert_null(map_get(rec, "pod"));
	assert_null(map_get(rec, "namespace"));
	/* every key once: the line's own k8s_* fields are not repeated */
	unsigned seen = 0;
	for (uint32_t i = 0; i < rec->via.map.size; i++) {
		const msgpack_object *k = &rec->via.map.ptr[i].key;
		seen += k->via.str.size == strlen("k8s_pod_name") &&
			!memcmp(k->via.str.ptr, "k8s_pod_name", 12);
		seen += k->via.str.size == strlen("k8s_container_restart_count") &&
			!memcmp(k->via.str.ptr, "k8s_container_restart_count", 27);
	}
	assert_int_equal(seen, 2);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

/* --log-fields otel: OpenTelemetry's k8s.* names; fluentbit: the kubernetes map Fluent Bit's
 * kubernetes filter makes, with the line's own "kubernetes" field not repeated. */
static void test_record_log_fields(void **st)
{
	(void)st;
	const char *line =
		"{\"msg\":\"hi\",\"kubernetes\":\"spoof\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}";
	struct log_parsed r;
	parse(line, &r);
	struct log_meta m = { .pod = "pg-0",
			      .namespace_ = "billing",
			      .uid = "0f3c-9a1e",
			      .node = "n1",
			      .container = "db",
			      .has_restart = true,
			      .restart = 2,
			      .k8s_keys = true,
			      .fields = LF_OTEL };
	for (int pass = 0; pass < 2; pass++) {
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		msgpack_packer pk;
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		log_record_pack(&pk, 1700000000000000000ull, line, strlen(line), &r, &m);
		msgpack_unpacked u;
		msgpack_unpacked_init(&u);
		size_t off = 0;
		assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
		const msgpack_object *rec = &u.data.via.array.ptr[1];
		assert_str(map_get(rec, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
		assert_str(map_get(rec, "msg"), "hi");
		assert_null(map_get(rec, "k8s_pod_name"));
		if (pass == 0) {
			assert_str(map_get(rec, "k8s.pod.name"), "pg-0");
			assert_str(map_get(rec, "k8s.namespace.name"), "billing");
			assert_str(map_get(rec, "k8s.pod.uid"), "0f3c-9a1e");
			assert_str(map_get(rec, "k8s.node.name"), "n1");
			assert_str(map_get(rec, "k8s.container.name"), "db");
			assert_int_equal(map_get(rec, "k8s.container.restart_count")->via.u64, 2);
			assert_str(map_get(rec, "kubernetes"), "spoof"); /* not ours in this mode */
		} else {
			const msgpack_object *k = map_get(rec, "kubernetes");
			assert_non_null(k);
			assert_int_equal(k->type, MSGPACK_OBJECT_MAP);
			assert_int_equal(k->via.map.size, 5);
			assert_str(map_get(k, "pod_name"), "pg-0");
			assert_str(map_get(k, "namespace_name"), "billing");
			assert_str(map_get(k, "pod_id"), "0f3c-9a1e");
			assert_str(map_get(k, "host"), "n1");
			assert_str(map_get(k, "container_name"), "db");
			assert_int_equal(map_get(rec, "container_restart_count")->via.u64, 2);
			unsigned seen = 0; /* the line's "kubernetes" is not repeated */
			for (uint32_t i = 0; i < rec->via.map.size; i++) {
				const msgpack_object *key = &rec->via.map.ptr[i].key;
				seen += key->via.str.size == 10 &&
					!memcmp(key->via.str.ptr, "kubernetes", 10);
			}
			assert_int_equal(seen, 1);
		}
		msgpack_unpacked_destroy(&u);
		msgpack_sbuffer_destroy(&sb);
		m.fields = LF_FLUENTBIT;
	}
	enum log_fields f;
	assert_int_equal(log_fields_parse("fluentbit", &f), 0);
	assert_int_equal(f, LF_FLUENTBIT);
	assert_int_equal(log_fields_parse("k8s", &f), -1);
}

static void test_logfmt_record_unescapes(void **st)
{
	(void)st;
	const char *line = "level=error msg=\"say \\\"hi\\\"\" log=x";
	struct log_parsed r;
	parse(line, &r);
	struct log_meta m = { .pod = "p" };
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	log_record_pack(&pk, 1, line, strlen(line), &r, &m);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	const msgpack_object *rec = &u.data.via.array.ptr[1];
	assert_str(map_get(rec, "msg"), "say \"hi\"");
	assert_null(map_get(rec, "truncated"));
	assert_str(map_get(rec, "level"), "error");
	assert_str(map_get(rec, "log"), line);
	assert_str(map_get(rec, "format"), "logfmt");
	/* log, pod, format, level + msg ("level" and "log" of the line are not repeated) */
	assert_int_equal(rec->via.map.size, 5);
	msgpack_unpacked_destroy(&u);

	/* a truncated line is marked (a cut JSON line is plain text) */
	msgpack_sbuffer_clear(&sb);
	const char *cut = "{\"truncated\":\"no\",\"a\":1";
	parse(cut, &r);
	m.truncated = true;
	log_record_pack(&pk, 1, cut, strlen(cut), &r, &m);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	rec = &u.data.via.array.ptr[1];
	const msgpack_object *t = map_get(rec, "truncated");
	assert_non_null(t);
	assert_int_equal(t->type, MSGPACK_OBJECT_BOOLEAN);
	assert_true(t->via.boolean);
	assert_int_equal(rec->via.map.size, 4); /* log, truncated, pod, format (plain: cut JSON) */
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

/* Found by fuzzing (tests/fuzz/fuzz_logs.c): json-c reads NaN and overflowing numbers, and the
 * --logs-out stdout line said nan/-inf, which no JSON reader accepts. */
static void test_fuzz_nonfinite_numbers_json(void **st)
{
	(void)st;
	const char *line = "{\"a\":NaN,\"b\":-1e400,\"c\":[Infinity,1.5]}";
	struct log_parsed r;
	parse(line, &r);
	assert_int_equal(r.format, LOG_JSON);
	struct log_meta m = { .pod = "p" };
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	log_record_pack(&pk, 1, line, strlen(line), &r, &m);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	struct strbuf js;
	sb_init(&js);
	assert_int_equal(log_entry_to_json(&u.data, &js), 0);
	assert_non_null(strstr(js.buf, "\"a\":null,\"b\":null,\"c\":[null,1.5]"));
	assert_null(strstr(js.buf, "nan"));
	assert_null(strstr(js.buf, "inf"));
	sb_free(&js);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

/* A log line is bytes, a msgpack str (and the stdout JSON) UTF-8: what is not well-formed UTF-8
 * (stray continuation, overlong form, surrogate, past U+10FFFF, cut sequence) goes out as
 * U+FFFD, byte by byte; NUL and valid multi-byte characters stay as they are. */
static void test_invalid_utf8_repaired(void **st)
{
	(void)st;
	static const char line[] =
		"ok \xc3\xa9 \xf0\x9f\x98\x80 nul\0x bad\xff\x80 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82";
	size_t len = sizeof(line) - 1;
	struct log_parsed r;
	log_parse(&P, line, len, &r);
	struct log_meta m = { .pod = "p", .file = "/a/\xfe.log" };
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	assert_int_equal(log_record_pack(&pk, 1, line, len, &r, &m), 2); /* "log" and "file" */
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	const msgpack_object *log = map_get(&u.data.via.array.ptr[1], "log");
	static const char want[] =
		"ok \xc3\xa9 \xf0\x9f\x98\x80 nul\0x bad\xef\xbf\xbd\xef\xbf\xbd "
		"\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
		"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd";
	assert_non_null(log);
	assert_int_equal(log->via.str.size, sizeof(want) - 1);
	assert_memory_equal(log->via.str.ptr, want, sizeof(want) - 1);
	assert_str(map_get(&u.data.via.array.ptr[1], "file"), "/a/\xef\xbf\xbd.log");
	struct strbuf js;
	sb_init(&js);
	assert_int_equal(log_entry_to_json(&u.data, &js), 0);
	assert_non_null(strstr(js.buf, "nul\\u0000x"));
	sb_free(&js);
	msgpack_unpacked_destroy(&u);

	/* valid text packs as it is; a truncated line loses the character its cut split */
	msgpack_sbuffer_clear(&sb);
	const char *cut = "caf\xc3\xa9\xc3";
	parse(cut, &r);
	m = (struct log_meta){ .pod = "p", .truncated = true };
	assert_int_equal(log_record_pack(&pk, 1, cut, strlen(cut), &r, &m), 0);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	assert_str(map_get(&u.data.via.array.ptr[1], "log"), "caf\xc3\xa9");
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	assert_int_equal(utf8_cut_end("a\xe2\x82", 3), 1);
	assert_int_equal(utf8_cut_end("a\xe2\x82\xac", 4), 4);
	assert_int_equal(utf8_cut_end("\xf0\x9f\x98", 3), 0);
	assert_int_equal(utf8_cut_end("ab", 2), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_fields_level_trace),
		cmocka_unit_test(test_json_numeric_level_and_traceparent),
		cmocka_unit_test(test_malformed_json_is_plain),
		cmocka_unit_test(test_logfmt),
		cmocka_unit_test(test_plain_level_and_ids),
		cmocka_unit_test(test_cri),
		cmocka_unit_test(test_record_encoding),
		cmocka_unit_test(test_logfmt_record_unescapes),
		cmocka_unit_test(test_fuzz_nonfinite_numbers_json),
		cmocka_unit_test(test_invalid_utf8_repaired),
		cmocka_unit_test(test_docker_json),
		cmocka_unit_test(test_pod_log_path),
		cmocka_unit_test(test_record_k8s_keys),
		cmocka_unit_test(test_record_log_fields),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
