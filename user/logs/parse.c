// SPDX-License-Identifier: GPL-2.0
/* Finding the format, level and trace context of a log line. Never allocates per line except
 * through json-c for JSON lines; the tokener is reused between lines. */
#include "parse.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

int log_parser_init(struct log_parser *p)
{
	p->last = NULL;
	p->tok = json_tokener_new();
	return p->tok ? 0 : -ENOMEM;
}

void log_parser_free(struct log_parser *p)
{
	if (p->last)
		json_object_put(p->last);
	p->last = NULL;
	if (p->tok)
		json_tokener_free(p->tok);
	p->tok = NULL;
}

static bool word_eq(const char *s, size_t n, const char *w)
{
	size_t wl = strlen(w);
	if (n != wl)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)s[i]) != w[i])
			return false;
	return true;
}

const char *log_level_normalize(const char *s, size_t n)
{
	static const struct {
		const char *word, *level;
	} words[] = {
		{ "error", "error" }, { "err", "error" },	 { "e", "error" },
		{ "warn", "warn" },   { "warning", "warn" },	 { "w", "warn" },
		{ "info", "info" },   { "information", "info" }, { "notice", "info" },
		{ "i", "info" },      { "debug", "debug" },	 { "dbg", "debug" },
		{ "d", "debug" },     { "trace", "trace" },	 { "t", "trace" },
		{ "fatal", "fatal" }, { "panic", "fatal" },	 { "critical", "fatal" },
		{ "crit", "fatal" },  { "emerg", "fatal" },	 { "alert", "fatal" },
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (word_eq(s, n, words[i].word))
			return words[i].level;
	return NULL;
}

/* pino/bunyan numeric levels. */
static const char *level_from_number(int64_t v)
{
	if (v >= 60)
		return "fatal";
	if (v >= 50)
		return "error";
	if (v >= 40)
		return "warn";
	if (v >= 30)
		return "info";
	if (v >= 20)
		return "debug";
	if (v >= 10)
		return "trace";
	return NULL;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool hex_copy(const char *s, size_t n, char *out)
{
	bool nonzero = false;
	for (size_t i = 0; i < n; i++) {
		if (!is_hex(s[i]))
			return false;
		nonzero |= s[i] != '0';
	}
	if (!nonzero) /* W3C: an all-zero id is invalid */
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	return true;
}

bool trace_id_valid_copy(const char *s, size_t n, char out[33])
{
	return (n == 32 || n == 16) && hex_copy(s, n, out);
}

bool span_id_valid_copy(const char *s, size_t n, char out[17])
{
	return n == 16 && hex_copy(s, n, out);
}

static bool traceparent_at(const char *s, size_t n, char trace_id[33], char span_id[17])
{
	/* version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55 */
	if (n < 55 || !is_hex(s[0]) || !is_hex(s[1]) || s[2] != '-' || s[35] != '-' || s[52] != '-' ||
	    !is_hex(s[53]) || !is_hex(s[54]))
		return false;
	if (n > 55 && (isalnum((unsigned char)s[55])))
		return false;
	char t[33], sp[17];
	if (!hex_copy(s + 3, 32, t) || !hex_copy(s + 36, 16, sp))
		return false;
	memcpy(trace_id, t, 33);
	memcpy(span_id, sp, 17);
	return true;
}

bool find_traceparent(const char *s, size_t n, char trace_id[33], char span_id[17])
{
	for (size_t i = 0; i + 55 <= n; i++) {
		const char *h = memchr(s + i + 2, '-', n - i - 2);
		if (!h || (size_t)(h - s) + 53 > n)
			return false;
		i = (size_t)(h - s) - 2;
		if ((i == 0 || !isalnum((unsigned char)s[i - 1])) &&
		    traceparent_at(s + i, n - i, trace_id, span_id))
			return true;
	}
	return false;
}

static bool key_is(const char *k, size_t n, const char *const *names)
{
	for (; *names; names++)
		if (strlen(*names) == n && !memcmp(k, *names, n))
			return true;
	return false;
}

static const char *const level_keys[] = { "level",     "lvl",	   "severity",	    "levelname",
					  "log.level", "loglevel", "severity_text", NULL };
static const char *const trace_keys[] = { "trace_id", "traceId", "traceID", "trace-id",
					  "trace.id", "traceid", NULL };
static const char *const span_keys[] = {
	"span_id", "spanId", "spanID", "span-id", "span.id", "spanid", NULL
};
static const char *const traceparent_keys[] = { "traceparent", NULL };

/* Applies one key/value found in a JSON object or logfmt line to the enrichment fields. */
static void consider(struct log_parsed *out, const char *k, size_t kl, const char *v, size_t vl)
{
	if (!out->level && key_is(k, kl, level_keys))
		out->level = log_level_normalize(v, vl);
	else if (!out->trace_id[0] && key_is(k, kl, trace_keys))
		trace_id_valid_copy(v, vl, out->trace_id);
	else if (!out->span_id[0] && key_is(k, kl, span_keys))
		span_id_valid_copy(v, vl, out->span_id);
	else if (!out->trace_id[0] && key_is(k, kl, traceparent_keys))
		traceparent_at(v, vl, out->trace_id, out->span_id);
}

static bool parse_json(struct log_parser *p, const char *line, size_t len, struct log_parsed *out)
{
	json_tokener_reset(p->tok);
	struct json_object *o = json_tokener_parse_ex(p->tok, line, (int)len);
	if (!o || json_tokener_get_error(p->tok) != json_tokener_success)
		goto bad;
	for (size_t i = json_tokener_get_parse_end(p->tok); i < len; i++)
		if (!isspace((unsigned char)line[i]))
			goto bad;
	if (!json_object_is_type(o, json_type_object))
		goto bad;
	p->last = o;
	out->json = o;
	out->format = LOG_JSON;
	json_object_object_foreach(o, key, val)
	{
		size_t kl = strlen(key);
		if (json_object_is_type(val, json_type_string)) {
			consider(out, key, kl, json_object_get_string(val),
				 (size_t)json_object_get_string_len(val));
		} else if (json_object_is_type(val, json_type_int) && !out->level &&
			   key_is(key, kl, level_keys)) {
			out->level = level_from_number(json_object_get_int64(val));
		}
	}
	return true;
bad:
	if (o)
		json_object_put(o);
	out->json_error = true;
	return false;
}

static bool logfmt_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-' || c == '/' || c == '@';
}

/* Accepts the line only when every space-separated token is key=value or key="value". */
static bool parse_logfmt(const char *line, size_t len, struct log_parsed *out)
{
	size_t i = 0;
	int n = 0;
	while (i < len) {
		while (i < len && line[i] == ' ')
			i++;
		if (i == len)
			break;
		if (n == LOGFMT_MAX_PAIRS)
			return false;
		struct logfmt_pair *pr = &out->pairs[n];
		pr->key = line + i;
		while (i < len && logfmt_key_char(line[i]))
			i++;
		pr->key_len = (size_t)(line + i - pr->key);
		if (!pr->key_len || i == len || line[i] != '=')
			return false;
		i++;
		pr->quoted = i < len && line[i] == '"';
		if (pr->quoted) {
			pr->val = line + ++i;
			while (i < len && line[i] != '"')
				i += line[i] == '\\' ? 2 : 1;
			if (i >= len)
				return false;
			pr->val_len = (size_t)(line + i - pr->val);
			i++;
			if (i < len && line[i] != ' ')
				return false;
		} else {
			pr->val = line + i;
			while (i < len && line[i] != ' ')
				i++;
			pr->val_len = (size_t)(line + i - pr->val);
			if (memchr(pr->val, '"', pr->val_len) || memchr(pr->val, '=', pr->val_len))
				return false;
		}
		n++;
	}
	if (n == 0)
		return false;
	out->npairs = n;
	out->format = LOG_LOGFMT;
	for (int k = 0; k < n; k++)
		consider(out, out->pairs[k].key, out->pairs[k].key_len, out->pairs[k].val,
			 out->pairs[k].val_len);
	return true;
}

/* Plain text: a level word in upper case ("ERROR"), or in any case when bracketed ("[warn]")
 * or written as level=..., within the first 128 bytes; anything else is too ambiguous. */
static const char *plain_level(const char *line, size_t len)
{
	size_t lim = len < 128 ? len : 128;
	for (size_t i = 0; i < lim;) {
		if (!isalpha((unsigned char)line[i])) {
			i++;
			continue;
		}
		size_t s = i;
		bool upper = true;
		while (i < lim && isalpha((unsigned char)line[i])) {
			upper &= isupper((unsigned char)line[i]) != 0;
			i++;
		}
		size_t n = i - s;
		if (n < 3)
			continue;
		bool bracketed = s > 0 && line[s - 1] == '[' && i < len && line[i] == ']';
		bool assigned = i < len && line[i] == '=' && word_eq(line + s, n, "level");
		if (assigned) {
			size_t v = ++i;
			while (i < len && isalpha((unsigned char)line[i]))
				i++;
			const char *l = log_level_normalize(line + v, i - v);
			if (l)
				return l;
			continue;
		}
		if (upper || bracketed) {
			const char *l = log_level_normalize(line + s, n);
			if (l)
				return l;
		}
	}
	return NULL;
}

static void find_plain_ids(const char *line, size_t len, struct log_parsed *out)
{
	if (find_traceparent(line, len, out->trace_id, out->span_id))
		return;
	/* trace_id=<hex> / span_id=<hex> inside free text */
	static const char *const tk[] = { "trace_id=", "traceId=", "trace_id: ", NULL };
	static const char *const sk[] = { "span_id=", "spanId=", "span_id: ", NULL };
	for (int w = 0; w < 2; w++) {
		for (const char *const *k = w ? sk : tk; *k; k++) {
			const char *p = memmem(line, len, *k, strlen(*k));
			if (!p)
				continue;
			p += strlen(*k);
			size_t n = 0;
			while ((size_t)(p - line) + n < len && is_hex(p[n]))
				n++;
			if (w ? span_id_valid_copy(p, n, out->span_id)
			      : trace_id_valid_copy(p, n, out->trace_id))
				break;
		}
	}
}

void log_parse(struct log_parser *p, const char *line, size_t len, struct log_parsed *out)
{
	out->format = LOG_PLAIN;
	out->json_error = false;
	out->level = NULL;
	out->trace_id[0] = out->span_id[0] = '\0';
	out->json = NULL;
	out->npairs = 0;
	if (p->last) {
		json_object_put(p->last);
		p->last = NULL;
	}
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len && line[i] == '{' && parse_json(p, line, len, out))
		return;
	if (!out->json_error && memchr(line, '=', len) && parse_logfmt(line, len, out))
		return;
	out->format = LOG_PLAIN;
	out->npairs = 0;
	out->level = plain_level(line, len);
	out->trace_id[0] = out->span_id[0] = '\0';
	find_plain_ids(line, len, out);
}

static int digits(const char *s, size_t n, int *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int rfc3339_parse_ns(const char *s, size_t n, uint64_t *ns)
{
	int Y, M, D, h, m, sec;
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
	    s[16] != ':' || digits(s, 4, &Y) || digits(s + 5, 2, &M) || digits(s + 8, 2, &D) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &m) || digits(s + 17, 2, &sec))
		return -EINVAL;
	size_t i = 19;
	uint64_t frac = 0;
	if (i < n && s[i] == '.') {
		int nd = 0;
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++)
			if (nd < 9)
				frac = frac * 10 + (uint64_t)(s[i] - '0');
		for (; nd < 9; nd++)
			frac *= 10;
	}
	long off = 0;
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 <= n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh, om;
		if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om))
			return -EINVAL;
		off = (s[i] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
		i += 6;
	} else {
		return -EINVAL;
	}
	if (i != n || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return -EINVAL;
	struct tm tm = {
		.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec
	};
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || t - off < 0)
		return -EINVAL;
	*ns = (uint64_t)(t - off) * 1000000000ull + frac;
	return 0;
}

int cri_parse(const char *line, size_t len, struct cri_line *out)
{
	const char *sp1 = memchr(line, ' ', len);
	if (!sp1 || rfc3339_parse_ns(line, (size_t)(sp1 - line), &out->time_ns))
		return -EINVAL;
	const char *st = sp1 + 1, *end = line + len;
	const char *sp2 = memchr(st, ' ', (size_t)(end - st));
	if (!sp2)
		return -EINVAL;
	out->stream = st;
	out->stream_len = (size_t)(sp2 - st);
	if (!word_eq(st, out->stream_len, "stdout") && !word_eq(st, out->stream_len, "stderr"))
		return -EINVAL;
	/* tags: "P" or "F", possibly followed by ":"-separated tags (CRI log format) */
	const char *tg = sp2 + 1;
	const char *sp3 = memchr(tg, ' ', (size_t)(end - tg));
	size_t tl = sp3 ? (size_t)(sp3 - tg) : (size_t)(end - tg);
	if (tl < 1 || (tg[0] != 'P' && tg[0] != 'F') || (tl > 1 && tg[1] != ':'))
		return -EINVAL;
	out->partial = tg[0] == 'P';
	out->msg = sp3 ? sp3 + 1 : end;
	out->msg_len = (size_t)(end - out->msg);
	return 0;
}

int docker_json_parse(struct log_parser *p, const char *line, size_t len, struct cri_line *out,
		      struct strbuf *msg)
{
	if (!len || line[0] != '{')
		return -EINVAL;
	json_tokener_reset(p->tok);
	struct json_object *o = json_tokener_parse_ex(p->tok, line, (int)len), *log, *st, *tm;
	int err = -EINVAL;
	if (!o || json_tokener_get_error(p->tok) != json_tokener_success ||
	    json_tokener_get_parse_end(p->tok) != len || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "log", &log) || !json_object_is_type(log, json_type_string) ||
	    !json_object_object_get_ex(o, "stream", &st) || !json_object_is_type(st, json_type_string) ||
	    !json_object_object_get_ex(o, "time", &tm) || !json_object_is_type(tm, json_type_string))
		goto out;
	const char *stream = json_object_get_string(st), *t = json_object_get_string(tm);
	if (strcmp(stream, "stdout") && strcmp(stream, "stderr"))
		goto out;
	if (rfc3339_parse_ns(t, (size_t)json_object_get_string_len(tm), &out->time_ns))
		goto out;
	const char *text = json_object_get_string(log);
	size_t n = (size_t)json_object_get_string_len(log);
	out->stream = stream[3] == 'o' ? "stdout" : "stderr";
	out->stream_len = 6;
	out->partial = !n || text[n - 1] != '\n';
	sb_reset(msg);
	sb_append(msg, text, out->partial ? n : n - 1);
	if (msg->oom)
		goto out;
	out->msg = msg->buf ? msg->buf : "";
	out->msg_len = msg->len;
	err = 0;
out:
	json_object_put(o);
	return err;
}
