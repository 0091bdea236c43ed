// SPDX-License-Identifier: GPL-2.0
#include "record.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "util/strbuf.h"

struct packer {
	msgpack_packer *pk;
	unsigned repaired; /* strings that were not UTF-8 */
};

void pack_event_time(msgpack_packer *pk, uint64_t time_ns)
{
	uint32_t s = (uint32_t)(time_ns / 1000000000ull), ns = (uint32_t)(time_ns % 1000000000ull);
	unsigned char b[8] = { s >> 24, s >> 16, s >> 8, s, ns >> 24, ns >> 16, ns >> 8, ns };
	msgpack_pack_ext(pk, 8, 0);
	msgpack_pack_ext_body(pk, b, 8);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629 table 3-7: no overlong forms, no
 * surrogates, nothing past U+10FFFF), 0 when s does not start one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t k;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (n < k || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return k;
}

size_t utf8_cut_end(const char *s, size_t n)
{
	/* a lead byte among the last three whose sequence runs past n */
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char c = (unsigned char)s[n - back];
		if ((c & 0xc0) == 0x80)
			continue;
		size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		return want > back ? n - back : n;
	}
	return n;
}

/* A msgpack str must be UTF-8 (and so must the JSON of --logs-out stdout), a log line need
 * not be: each byte that is not part of a well-formed sequence goes out as U+FFFD. */
static void pack_str(struct packer *w, const char *s, size_t n)
{
	static const char repl[] = "\xef\xbf\xbd";
	const unsigned char *u = (const unsigned char *)s;
	size_t out = 0, bad = 0;
	for (size_t i = 0, k; i < n; i += k ? k : 1) {
		k = utf8_len(u + i, n - i);
		out += k ? k : 3;
		bad += !k;
	}
	msgpack_pack_str(w->pk, out);
	if (!bad) {
		msgpack_pack_str_body(w->pk, s, n);
		return;
	}
	w->repaired++;
	size_t run = 0;
	for (size_t i = 0, k; i < n; i += k ? k : 1) {
		if ((k = utf8_len(u + i, n - i)))
			continue;
		msgpack_pack_str_body(w->pk, s + run, i - run);
		msgpack_pack_str_body(w->pk, repl, 3);
		run = i + 1;
	}
	msgpack_pack_str_body(w->pk, s + run, n - run);
}

static void pack_cstr(struct packer *w, const char *s)
{
	pack_str(w, s, strlen(s));
}

static void pack_json(struct packer *w, struct json_object *v)
{
	msgpack_packer *pk = w->pk;
	switch (json_object_get_type(v)) {
	case json_type_null:
		msgpack_pack_nil(pk);
		break;
	case json_type_boolean:
		if (json_object_get_boolean(v))
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case json_type_double:
		msgpack_pack_double(pk, json_object_get_double(v));
		break;
	case json_type_int:
		msgpack_pack_int64(pk, json_object_get_int64(v));
		break;
	case json_type_string:
		pack_str(w, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		break;
	case json_type_array: {
		size_t n = json_object_array_length(v);
		msgpack_pack_array(pk, n);
		for (size_t i = 0; i < n; i++)
			pack_json(w, json_object_array_get_idx(v, i));
		break;
	}
	case json_type_object:
		msgpack_pack_map(pk, (size_t)json_object_object_length(v));
		json_object_object_foreach(v, key, val)
		{
			pack_cstr(w, key);
			pack_json(w, val);
		}
		break;
	}
}

/* The keys the agent writes into this record, so that a same-named field is not repeated. */
struct own_keys {
	const char *k[16];
	int n;
};

static bool own_has(const struct own_keys *o, const char *k, size_t n)
{
	for (int i = 0; i < o->n; i++)
		if (strlen(o->k[i]) == n && !memcmp(o->k[i], k, n))
			return true;
	return false;
}

static void pack_logfmt_value(struct packer *w, const struct logfmt_pair *p)
{
	char *tmp;
	if (!p->quoted || !memchr(p->val, '\\', p->val_len) || !(tmp = malloc(p->val_len))) {
		pack_str(w, p->val, p->val_len);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < p->val_len; i++) {
		if (p->val[i] == '\\' && i + 1 < p->val_len) {
			i++;
			tmp[n++] = p->val[i] == 'n' ? '\n' : p->val[i] == 't' ? '\t' : p->val[i];
		} else {
			tmp[n++] = p->val[i];
		}
	}
	pack_str(w, tmp, n);
	free(tmp);
}

int log_fields_parse(const char *s, enum log_fields *out)
{
	static const char *const names[] = {
		[LF_OBSBPF] = "obsbpf", [LF_OTEL] = "otel", [LF_FLUENTBIT] = "fluentbit"
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum log_fields)i;
			return 0;
		}
	return -1;
}

unsigned log_record_pack(msgpack_packer *pk, uint64_t time_ns, const char *line, size_t len,
			 const struct log_parsed *r, const struct log_meta *m)
{
	struct packer w = { .pk = pk, .repaired = 0 };
	if (m->truncated) /* cut at --logs-max-line, maybe inside a character: not the app's fault */
		len = utf8_cut_end(line, len);
	static const char *const fmt_names[] = {
		[LOG_PLAIN] = "plain", [LOG_JSON] = "json", [LOG_LOGFMT] = "logfmt"
	};
	struct own_keys own = { .n = 0 };
	const char *vals[16];
#define OWN(key, val)                          \
	do {                                   \
		if ((val) && *(val)) {         \
			own.k[own.n] = key;    \
			vals[own.n++] = (val); \
		}                              \
	} while (0)
	/* Daemon mode names where a line came from as the metrics do (OpenTelemetry's k8s.*
	 * attributes, '.' spelt '_'); attach keeps the short names it always had; --log-fields
	 * otel the attributes' own names, fluentbit the map Fluent Bit's kubernetes filter adds. */
	enum {
		N_POD,
		N_NS,
		N_UID,
		N_NODE,
		N_CONTAINER,
		N_RESTART,
		N_MAX
	};
	static const char *const names[4][N_MAX] = {
		{ "pod", "namespace", "pod_uid", "node", "container", "container_restart_count" },
		{ "k8s_pod_name", "k8s_namespace_name", "k8s_pod_uid", "k8s_node_name", "k8s_container_name",
		  "k8s_container_restart_count" },
		{ "k8s.pod.name", "k8s.namespace.name", "k8s.pod.uid", "k8s.node.name", "k8s.container.name",
		  "k8s.container.restart_count" },
		{ "pod_name", "namespace_name", "pod_id", "host", "container_name",
		  "container_restart_count" },
	};
	bool fb = m->fields == LF_FLUENTBIT;
	const char *const *nm = names[fb ? 3 : m->fields == LF_OTEL ? 2 : m->k8s_keys ? 1 : 0];
	/* fluentbit: those go into the "kubernetes" map (own.k holds its key once, vals NULL) */
	const char *kv[N_CONTAINER + 1] = { m->pod, m->namespace_, m->uid, m->node, m->container };
	int nkube = 0;
	OWN("file", m->file);
	if (fb) {
		for (int i = 0; i <= N_CONTAINER; i++)
			nkube += kv[i] && *kv[i];
		if (nkube) {
			own.k[own.n] = "kubernetes";
			vals[own.n++] = NULL;
		}
	} else {
		for (int i = 0; i <= N_CONTAINER; i++)
			OWN(nm[i], kv[i]);
	}
	OWN("stream", m->stream);
	OWN("format", fmt_names[r->format]);
	OWN("level", r->level);
	OWN("trace_id", r->trace_id);
	OWN("span_id", r->span_id);
#undef OWN
	const char *restart_key = nm[N_RESTART];
	bool restart = m->has_restart;
	int nstr = own.n;
	if (restart) /* in own.k (not repeated from the line), packed as a number after the strings */
		own.k[own.n++] = restart_key;
	size_t extra = 0;
	if (r->format == LOG_JSON) {
		json_object_object_foreach(r->json, key, val)
		{
			(void)val;
			extra += !own_has(&own, key, strlen(key)) && strcmp(key, "log") &&
				!(m->truncated && !strcmp(key, "truncated"));
		}
	} else if (r->format == LOG_LOGFMT) {
		for (int i = 0; i < r->npairs; i++)
			extra += !own_has(&own, r->pairs[i].key, r->pairs[i].key_len) &&
				!(r->pairs[i].key_len == 3 && !memcmp(r->pairs[i].key, "log", 3));
	}

	msgpack_pack_array(pk, 2);
	pack_event_time(pk, time_ns);
	msgpack_pack_map(pk, 1 + (size_t)own.n + extra + m->truncated);
	pack_cstr(&w, "log");
	pack_str(&w, line, len);
	if (m->truncated) {
		pack_cstr(&w, "truncated");
		msgpack_pack_true(pk);
	}
	for (int i = 0; i < nstr; i++) {
		pack_cstr(&w, own.k[i]);
		if (vals[i]) {
			pack_cstr(&w, vals[i]);
			continue;
		}
		msgpack_pack_map(pk, (size_t)nkube);
		for (int j = 0; j <= N_CONTAINER; j++)
			if (kv[j] && *kv[j]) {
				pack_cstr(&w, nm[j]);
				pack_cstr(&w, kv[j]);
			}
	}
	if (restart) {
		pack_cstr(&w, restart_key);
		msgpack_pack_uint32(pk, m->restart);
	}
	if (r->format == LOG_JSON) {
		json_object_object_foreach(r->json, key, val)
		{
			if (own_has(&own, key, strlen(key)) || !strcmp(key, "log") ||
			    (m->truncated && !strcmp(key, "truncated")))
				continue;
			pack_cstr(&w, key);
			pack_json(&w, val);
		}
	} else if (r->format == LOG_LOGFMT) {
		for (int i = 0; i < r->npairs; i++) {
			const struct logfmt_pair *p = &r->pairs[i];
			if (own_has(&own, p->key, p->key_len) ||
			    (p->key_len == 3 && !memcmp(p->key, "log", 3)))
				continue;
			pack_str(&w, p->key, p->key_len);
			pack_logfmt_value(&w, p);
		}
	}
	return w.repaired;
}

static bool event_time(const msgpack_object *o, uint64_t *ns)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*ns = o->via.u64 * 1000000000ull;
		return true;
	}
	if (o->type != MSGPACK_OBJECT_EXT || o->via.ext.type != 0 || o->via.ext.size != 8)
		return false;
	const unsigned char *b = (const unsigned char *)o->via.ext.ptr;
	uint64_t s = (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3];
	uint64_t n = (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 | (uint64_t)b[6] << 8 | b[7];
	*ns = s * 1000000000ull + n;
	return true;
}

void msgpack_to_json(const msgpack_object *o, struct strbuf *out)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		sb_puts(out, "null");
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		sb_puts(out, o->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		sb_printf(out, "%" PRIu64, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		sb_printf(out, "%" PRId64, o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		/* JSON has no NaN or Infinity, which a JSON log line may hold (json-c reads them) */
		if (isfinite(o->via.f64))
			sb_printf(out, "%.17g", o->via.f64);
		else
			sb_puts(out, "null");
		break;
	case MSGPACK_OBJECT_STR:
	case MSGPACK_OBJECT_BIN:
		sb_putc(out, '"');
		sb_json_escape(out, o->via.str.ptr, o->via.str.size);
		sb_putc(out, '"');
		break;
	case MSGPACK_OBJECT_ARRAY:
		sb_putc(out, '[');
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				sb_putc(out, ',');
			msgpack_to_json(&o->via.array.ptr[i], out);
		}
		sb_putc(out, ']');
		break;
	case MSGPACK_OBJECT_MAP:
		sb_putc(out, '{');
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			if (i)
				sb_putc(out, ',');
			const msgpack_object *k = &o->via.map.ptr[i].key;
			if (k->type == MSGPACK_OBJECT_STR) {
				msgpack_to_json(k, out);
			} else {
				struct strbuf tmp;
				sb_init(&tmp);
				msgpack_to_json(k, &tmp);
				sb_putc(out, '"');
				sb_json_escape(out, tmp.buf ? tmp.buf : "", tmp.len);
				sb_putc(out, '"');
				sb_free(&tmp);
			}
			sb_putc(out, ':');
			msgpack_to_json(&o->via.map.ptr[i].val, out);
		}
		sb_putc(out, '}');
		break;
	case MSGPACK_OBJECT_EXT: {
		uint64_t ns;
		if (event_time(o, &ns))
			sb_printf(out, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
		else
			sb_puts(out, "null");
		break;
	}
	}
}

int log_entry_to_json(const msgpack_object *e, struct strbuf *out)
{
	uint64_t ns;
	if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2 ||
	    e->via.array.ptr[1].type != MSGPACK_OBJECT_MAP || !event_time(&e->via.array.ptr[0], &ns))
		return -EINVAL;
	const msgpack_object_map *m = &e->via.array.ptr[1].via.map;
	sb_printf(out, "{\"time\":%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
	for (uint32_t i = 0; i < m->size; i++) {
		sb_putc(out, ',');
		if (m->ptr[i].key.type != MSGPACK_OBJECT_STR) {
			sb_puts(out, "\"?\"");
		} else {
			msgpack_to_json(&m->ptr[i].key, out);
		}
		sb_putc(out, ':');
		msgpack_to_json(&m->ptr[i].val, out);
	}
	sb_putc(out, '}');
	return 0;
}
