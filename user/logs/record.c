#include "record.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <json-c/json.h>

#include "../util/strbuf.h"

void pack_event_time(msgpack_packer *pk, uint64_t time_ns)
{
	uint32_t s = (uint32_t)(time_ns / 1000000000ull), ns = (uint32_t)(time_ns % 1000000000ull);
	unsigned char b[8] = { s >> 24, s >> 16, s >> 8, s, ns >> 24, ns >> 16, ns >> 8, ns };
	msgpack_pack_ext(pk, 8, 0);
	msgpack_pack_ext_body(pk, b, 8);
}

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
	pack_str(pk, s, strlen(s));
}

static void pack_json(msgpack_packer *pk, struct json_object *v)
{
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
		pack_str(pk, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		break;
	case json_type_array: {
		size_t n = json_object_array_length(v);
		msgpack_pack_array(pk, n);
		for (size_t i = 0; i < n; i++)
			pack_json(pk, json_object_array_get_idx(v, i));
		break;
	}
	case json_type_object:
		msgpack_pack_map(pk, (size_t)json_object_object_length(v));
		json_object_object_foreach(v, key, val) {
			pack_cstr(pk, key);
			pack_json(pk, val);
		}
		break;
	}
}

/* The keys the agent writes into this record, so that a same-named field is not repeated. */
struct own_keys {
	const char *k[12];
	int n;
};

static bool own_has(const struct own_keys *o, const char *k, size_t n)
{
	for (int i = 0; i < o->n; i++)
		if (strlen(o->k[i]) == n && !memcmp(o->k[i], k, n))
			return true;
	return false;
}

static void pack_logfmt_value(msgpack_packer *pk, const struct logfmt_pair *p)
{
	if (!p->quoted || !memchr(p->val, '\\', p->val_len)) {
		pack_str(pk, p->val, p->val_len);
		return;
	}
	char tmp[p->val_len];
	size_t n = 0;
	for (size_t i = 0; i < p->val_len; i++) {
		if (p->val[i] == '\\' && i + 1 < p->val_len) {
			i++;
			tmp[n++] = p->val[i] == 'n' ? '\n' : p->val[i] == 't' ? '\t' : p->val[i];
		} else {
			tmp[n++] = p->val[i];
		}
	}
	pack_str(pk, tmp, n);
}

void log_record_pack(msgpack_packer *pk, uint64_t time_ns, const char *line, size_t len,
		     const struct log_parsed *r, const struct log_meta *m)
{
	static const char *const fmt_names[] = { [LOG_PLAIN] = "plain", [LOG_JSON] = "json",
						  [LOG_LOGFMT] = "logfmt" };
	struct own_keys own = { .n = 0 };
	const char *vals[12];
#define OWN(key, val) do { if ((val) && *(val)) { own.k[own.n] = key; vals[own.n++] = (val); } } while (0)
	OWN("file", m->file);
	OWN("pod", m->pod);
	OWN("namespace", m->namespace_);
	OWN("node", m->node);
	OWN("container", m->container);
	OWN("stream", m->stream);
	OWN("format", fmt_names[r->format]);
	OWN("level", r->level);
	OWN("trace_id", r->trace_id);
	OWN("span_id", r->span_id);
#undef OWN
	size_t extra = 0;
	if (r->format == LOG_JSON) {
		json_object_object_foreach(r->json, key, val) {
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
	pack_cstr(pk, "log");
	pack_str(pk, line, len);
	if (m->truncated) {
		pack_cstr(pk, "truncated");
		msgpack_pack_true(pk);
	}
	for (int i = 0; i < own.n; i++) {
		pack_cstr(pk, own.k[i]);
		pack_cstr(pk, vals[i]);
	}
	if (r->format == LOG_JSON) {
		json_object_object_foreach(r->json, key, val) {
			if (own_has(&own, key, strlen(key)) || !strcmp(key, "log") ||
			    (m->truncated && !strcmp(key, "truncated")))
				continue;
			pack_cstr(pk, key);
			pack_json(pk, val);
		}
	} else if (r->format == LOG_LOGFMT) {
		for (int i = 0; i < r->npairs; i++) {
			const struct logfmt_pair *p = &r->pairs[i];
			if (own_has(&own, p->key, p->key_len) || (p->key_len == 3 && !memcmp(p->key, "log", 3)))
				continue;
			pack_str(pk, p->key, p->key_len);
			pack_logfmt_value(pk, p);
		}
	}
}

void json_escape(struct strbuf *out, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_append(out, s + start, i - start);
		switch (c) {
		case '"': sb_puts(out, "\\\""); break;
		case '\\': sb_puts(out, "\\\\"); break;
		case '\n': sb_puts(out, "\\n"); break;
		case '\t': sb_puts(out, "\\t"); break;
		case '\r': sb_puts(out, "\\r"); break;
		default: sb_printf(out, "\\u%04x", c);
		}
		start = i + 1;
	}
	sb_append(out, s + start, n - start);
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
	case MSGPACK_OBJECT_NIL: sb_puts(out, "null"); break;
	case MSGPACK_OBJECT_BOOLEAN: sb_puts(out, o->via.boolean ? "true" : "false"); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: sb_printf(out, "%" PRIu64, o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: sb_printf(out, "%" PRId64, o->via.i64); break;
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
		json_escape(out, o->via.str.ptr, o->via.str.size);
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
				json_escape(out, tmp.buf ? tmp.buf : "", tmp.len);
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
