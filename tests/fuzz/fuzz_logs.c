// SPDX-License-Identifier: GPL-2.0
/* A container's log line through what logs.c does with it: the CRI or docker json-file envelope
 * (first byte bit 0), log_parse (JSON, logfmt, plain) and the Forward record (bit 2: daemon
 * mode's k8s_* keys and restart count); the record must be one complete msgpack object, and its
 * --logs-out stdout rendering one JSON object json-c reads back. Bit 3: the bytes as a path under
 * /var/log/pods too (what daemon mode reads a pod's identity from). */
#include <ctype.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "logs/parse.h"
#include "logs/podlog.h"
#include "logs/record.h"
#include "util/strbuf.h"

static struct log_parser P; /* reused from line to line, as logs.c does */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	FUZZ_CHECK(log_parser_init(&P) == 0);
	return 0;
}

static bool hex_id(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

static void check_record(const char *line, size_t len, const struct log_parsed *r, bool truncated, bool k8s)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	struct log_meta m = { .pod = "web-7d4b9",
			      .namespace_ = "shop",
			      .node = "node-1",
			      .container = "app",
			      .file = "/var/log/pods/x/app/0.log",
			      .stream = "stdout",
			      .truncated = truncated,
			      .uid = k8s ? "0f3c9a1e-7b2d" : NULL,
			      .has_restart = k8s,
			      .restart = 3,
			      .k8s_keys = k8s };
	log_record_pack(&pk, 1700000000123456789ull, line, len, r, &m);

	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	/* one object, all of the bytes: a map with a wrong count would leave some or want more */
	FUZZ_CHECK(msgpack_unpack_next(&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
	FUZZ_CHECK(off == sb.size);
	struct strbuf js;
	sb_init(&js);
	FUZZ_CHECK(log_entry_to_json(&u.data, &js) == 0);
	struct json_tokener *tok = json_tokener_new();
	FUZZ_CHECK(tok);
	json_object *o = json_tokener_parse_ex(tok, js.buf, (int)js.len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != js.len)
		fprintf(fuzz_err(), "not one JSON object: %s\n", js.buf);
	FUZZ_CHECK(o && json_object_is_type(o, json_type_object));
	FUZZ_CHECK(json_tokener_get_parse_end(tok) == js.len);
	json_object_put(o);
	json_tokener_free(tok);
	sb_free(&js);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	uint8_t mode = data[0];
	size_t len = size - 1;
	/* exactly the line's bytes: logs.c passes a length, no NUL after the line */
	char *buf = malloc(len ? len : 1);
	FUZZ_CHECK(buf);
	memcpy(buf, data + 1, len);
	const char *line = buf;
	struct strbuf docker;
	sb_init(&docker);
	if (mode & 1) {
		struct cri_line c;
		if (cri_parse(buf, len, &c) == 0) {
			FUZZ_CHECK(c.msg >= buf && c.msg + c.msg_len == buf + len);
			FUZZ_CHECK(c.stream_len == 6);
			line = c.msg;
			len = c.msg_len;
		} else if (docker_json_parse(&P, buf, len, &c, &docker) == 0) {
			FUZZ_CHECK(c.stream_len == 6 &&
				   (!memcmp(c.stream, "stdout", 6) || !memcmp(c.stream, "stderr", 6)));
			FUZZ_CHECK(c.msg_len == docker.len);
			line = c.msg;
			len = c.msg_len;
		}
	}
	if (mode & 8) {
		char *path = strndup(buf, len);
		struct pod_log_file pl;
		FUZZ_CHECK(path);
		if (pod_log_path_parse(path, &pl) == 0)
			FUZZ_CHECK(pl.pod.namespace_[0] && pl.pod.name[0] && pl.pod.uid[0] &&
				   pl.container[0] && !strchr(pl.pod.namespace_, '_') &&
				   !strchr(pl.container, '/'));
		free(path);
	}
	struct log_parsed r;
	log_parse(&P, line, len, &r);
	FUZZ_CHECK(r.format == LOG_PLAIN || r.format == LOG_JSON || r.format == LOG_LOGFMT);
	FUZZ_CHECK(!r.trace_id[0] || hex_id(r.trace_id, 32) || hex_id(r.trace_id, 16));
	FUZZ_CHECK(!r.span_id[0] || hex_id(r.span_id, 16));
	FUZZ_CHECK(r.npairs >= 0 && r.npairs <= LOGFMT_MAX_PAIRS);
	check_record(line, len, &r, mode & 2, mode & 4);
	sb_free(&docker);
	free(buf);
	return 0;
}
