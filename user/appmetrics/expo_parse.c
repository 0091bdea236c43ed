// SPDX-License-Identifier: GPL-2.0
/* Exposition text parser (Prometheus 0.0.4 and OpenMetrics). It works in place on a private
 * buffer (a copy of the body, or the body itself: expo_parse_take): tokens are NUL-terminated
 * where they end and label values are unescaped over their own escaped text (never longer), so
 * a 10k-series scrape costs at most one copy and a few arrays. */
#include "expo_internal.h"

#include "util/array.h"
#include "util/strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool name_start(char c, bool metric)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
}

static bool name_char(char c, bool metric)
{
	return name_start(c, metric) || (c >= '0' && c <= '9');
}

static bool valid_name(const char *s, bool metric)
{
	if (!name_start(*s, metric))
		return false;
	while (*++s)
		if (!name_char(*s, metric))
			return false;
	return true;
}

bool expo_valid_metric_name(const char *s)
{
	return valid_name(s, true);
}

bool expo_valid_label_name(const char *s)
{
	return valid_name(s, false);
}

static bool valid_utf8(const unsigned char *s)
{
	while (*s) {
		if (*s < 0x80) {
			s++;
			continue;
		}
		int n = (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2 : (*s & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (n == 1 && *s < 0xc2) || (n == 3 && *s > 0xf4))
			return false;
		for (int i = 1; i <= n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return false;
		s += n + 1;
	}
	return true;
}

static char *skip_blank(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Scans a name starting at p; returns its end (not terminated: the caller writes the NUL
 * once it has read the character that follows), or NULL when p does not start a name. */
static char *scan_name(char *p, bool metric)
{
	if (!name_start(*p, metric))
		return NULL;
	while (name_char(*++p, metric))
		;
	return p;
}

static const char *parse_label_value(char **pp)
{
	char *p = *pp, *dst = p;
	for (;;) {
		char c = *p;
		if (c == '\0')
			return "unterminated label value";
		if (c == '"')
			break;
		if (c == '\\') {
			if (p[1] == '\\')
				c = '\\';
			else if (p[1] == '"')
				c = '"';
			else if (p[1] == 'n')
				c = '\n';
			else
				return "bad escape in a label value";
			p++;
		}
		*dst++ = c;
		p++;
	}
	*pp = p + 1;
	*dst = '\0'; /* dst <= the closing quote, which has been read */
	return NULL;
}

static const char *parse_labels(struct expo_doc *d, char **pp, struct sample *smp)
{
	char *p = *pp; /* just after '{' */
	smp->lbl = (uint32_t)d->nl;
	smp->nlbl = 0;
	for (;;) {
		p = skip_blank(p);
		if (*p == '}') {
			*pp = p + 1;
			return NULL;
		}
		char *name = p, *end = scan_name(p, false);
		if (!end)
			return "bad label name";
		if (d->max_label_bytes && (size_t)(end - name) > d->max_label_bytes)
			return "label name too long";
		p = skip_blank(end);
		if (*p != '=')
			return "expected '=' after a label name";
		*end = '\0';
		if (name[0] == '_' && name[1] == '_')
			return "label names starting with __ are reserved";
		p = skip_blank(p + 1);
		if (*p != '"')
			return "expected '\"' to open a label value";
		char *val = ++p;
		const char *err = parse_label_value(&p);
		if (err)
			return err;
		if (d->max_label_bytes && strlen(val) > d->max_label_bytes)
			return "label value too long";
		if (!valid_utf8((unsigned char *)val))
			return "label value is not valid UTF-8";
		for (size_t i = smp->lbl; i < d->nl; i++)
			if (!strcmp(d->labels[i].name, name))
				return "duplicate label name";
		if (!array_grow((void **)&d->labels, &d->capl, d->nl + 1, sizeof(*d->labels)))
			return "out of memory";
		d->labels[d->nl++] = (struct label){ name, val };
		smp->nlbl++;
		p = skip_blank(p);
		if (*p == ',')
			p++;
		else if (*p != '}')
			return "expected ',' or '}' after a label value";
	}
}

static const char *parse_value(char *tok, double *v)
{
	if (strpbrk(tok, "xX")) /* strtod reads hex; the format does not */
		return "bad sample value";
	char *end;
	*v = strtod(tok, &end);
	if (end == tok || *end)
		return "bad sample value";
	return NULL;
}

static const char *parse_timestamp(const struct expo_doc *d, char *tok, long long *ms)
{
	char *end;
	if (d->om) { /* OpenMetrics: seconds, may have a fraction */
		double s = strtod(tok, &end), v = s * 1000.0;
		/* llround's result is unspecified past the range of long long (NaN, Inf too) */
		if (end == tok || *end || !(v >= -0x1p63 && v < 0x1p63) || strpbrk(tok, "xX"))
			return "bad timestamp";
		*ms = llround(v);
		return NULL;
	}
	errno = 0;
	*ms = strtoll(tok, &end, 10);
	if (end == tok || *end || errno)
		return "bad timestamp";
	return NULL;
}

/* Next whitespace-separated token, NUL-terminated; NULL at the end of the line. */
static char *token(char **pp)
{
	char *p = skip_blank(*pp);
	if (!*p)
		return NULL;
	char *t = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = '\0';
	*pp = p;
	return t;
}

static struct family *family_for_sample(struct expo_doc *d, const char *name, int *m)
{
	static const char *const sfx[] = { "_bucket",  "_count", "_sum",    "_total",
					   "_created", "_info",	 "_gcount", "_gsum" };
	if (d->cur != NONE && (*m = expo_fam_match(d, &d->fams[d->cur], name)))
		return &d->fams[d->cur];
	struct family *f = expo_fam_lookup(d, name, NULL);
	if (f && (*m = expo_fam_match(d, f, name)))
		return f;
	char base[256];
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t k = strlen(sfx[i]);
		if (n <= k || n - k >= sizeof(base) || strcmp(name + n - k, sfx[i]))
			continue;
		memcpy(base, name, n - k);
		base[n - k] = '\0';
		f = expo_fam_lookup(d, base, NULL);
		if (f && (*m = expo_fam_match(d, f, name)))
			return f;
	}
	return NULL;
}

static const char *add_sample(struct expo_doc *d, struct sample *s)
{
	int m = 0;
	struct family *f = family_for_sample(d, s->name, &m);
	if (!f) { /* a sample with no TYPE: its own untyped family */
		uint32_t *slot;
		if (expo_fam_lookup(d, s->name, &slot))
			return "sample does not fit the family of its name";
		if (!(f = expo_fam_new(d, s->name, slot)))
			return "out of memory";
		m = 1;
	}
	d->cur = (uint32_t)(f - d->fams);
	if (m < 0) {
		d->st.dropped++;
		return NULL;
	}
	s->hash = expo_fnv(FNV1A64_INIT, s->name);
	for (uint32_t i = 0; i < s->nlbl; i++) {
		s->hash = expo_fnv(s->hash, d->labels[s->lbl + i].name);
		s->hash = expo_fnv(s->hash, d->labels[s->lbl + i].value);
	}
	uint32_t *slot = expo_series_slot(d, s);
	if (!slot)
		return "out of memory";
	if (*slot) {
		d->st.dup_series++;
		return NULL;
	}
	if (d->max_series && d->ns >= d->max_series)
		return "too many series";
	if (!array_grow((void **)&d->samples, &d->caps, d->ns + 1, sizeof(*d->samples)))
		return "out of memory";
	uint32_t idx = (uint32_t)d->ns++;
	s->next = NONE;
	d->samples[idx] = *s;
	*slot = idx + 1;
	if (f->last == NONE)
		f->first = idx;
	else
		d->samples[f->last].next = idx;
	f->last = idx;
	f->nsamples++;
	return NULL;
}

static const char *parse_sample(struct expo_doc *d, char *p)
{
	struct sample s = { 0 };
	char *end = scan_name(p, true);
	if (!end)
		return "bad metric name";
	/* the metric name is a label value too (__name__), under the same limit */
	if (d->max_label_bytes && (size_t)(end - p) > d->max_label_bytes)
		return "metric name too long";
	s.name = p;
	p = end;
	if (*p == '{') {
		*p++ = '\0';
		const char *err = parse_labels(d, &p, &s);
		if (err)
			return err;
	} else if (*p == ' ' || *p == '\t') {
		*p++ = '\0';
	} else {
		return *p ? "bad metric name" : "sample has no value";
	}
	s.lbl = s.nlbl ? s.lbl : 0;
	char *tok = token(&p);
	if (!tok)
		return "sample has no value";
	s.value = tok;
	const char *err = parse_value(tok, &s.v);
	if (err)
		return err;
	tok = token(&p);
	if (tok && tok[0] != '#') {
		if ((err = parse_timestamp(d, tok, &s.ts_ms)))
			return err;
		s.has_ts = true;
		tok = token(&p);
	}
	/* What may follow is an OpenMetrics exemplar ("# {trace_id=...} 1"): not kept. */
	if (tok && tok[0] != '#')
		return "unexpected text after the sample";
	if (tok && tok[1])
		return "exemplar must start with \"# \"";
	return add_sample(d, &s);
}

static const char *type_of(const char *w, enum ftype *t, bool *om_counter, bool *om_info)
{
	static const struct {
		const char *w;
		enum ftype t;
	} types[] = {
		{ "counter", T_COUNTER }, { "gauge", T_GAUGE },	    { "histogram", T_HISTOGRAM },
		{ "summary", T_SUMMARY }, { "untyped", T_UNTYPED }, { "unknown", T_UNTYPED },
		{ "stateset", T_GAUGE },  { "info", T_GAUGE },	    { "gaugehistogram", T_GAUGEHIST },
	};
	*om_info = !strcmp(w, "info");
	*om_counter = !strcmp(w, "counter");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (!strcmp(w, types[i].w)) {
			*t = types[i].t;
			return NULL;
		}
	}
	return "unknown metric type";
}

static const char *set_type(struct expo_doc *d, struct family *f, const char *w)
{
	enum ftype t;
	bool omc, omi;
	const char *err = type_of(w, &t, &omc, &omi);
	if (err)
		return err;
	if (f->typed || f->nsamples) { /* second TYPE, or TYPE after samples: keep the first */
		d->st.dup_meta++;
		return NULL;
	}
	f->type = t;
	f->typed = true;
	const char *sfx = NULL;
	if (d->om && omc && (f->om_counter = true))
		sfx = "_total";
	if (d->om && omi && (f->om_info = true))
		sfx = "_info";
	if (sfx) {
		size_t n = strlen(f->name);
		if (!(f->out = malloc(n + strlen(sfx) + 1)))
			return "out of memory";
		memcpy(f->out, f->name, n);
		strcpy(f->out + n, sfx);
	}
	return NULL;
}

/* "# HELP name text", "# TYPE name type", "# UNIT name unit", "# EOF"; other comments pass. */
static const char *parse_comment(struct expo_doc *d, char *p, bool *eof)
{
	p = skip_blank(p + 1);
	char *kw = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	size_t kwlen = (size_t)(p - kw);
	bool help = kwlen == 4 && !memcmp(kw, "HELP", 4);
	bool type = kwlen == 4 && !memcmp(kw, "TYPE", 4);
	if (kwlen == 3 && !memcmp(kw, "EOF", 3) && !*skip_blank(p)) {
		*eof = true;
		return NULL;
	}
	if (!help && !type)
		return NULL; /* UNIT and plain comments */
	p = skip_blank(p);
	char *name = p, *end = scan_name(p, true);
	if (!end || (*end && *end != ' ' && *end != '\t'))
		return help ? "bad metric name in HELP" : "bad metric name in TYPE";
	p = *end ? end + 1 : end;
	*end = '\0';
	uint32_t *slot;
	struct family *f = expo_fam_lookup(d, name, &slot);
	if (!f && !(f = expo_fam_new(d, name, slot)))
		return "out of memory";
	d->cur = (uint32_t)(f - d->fams);
	if (type) {
		char *w = token(&p);
		if (!w || token(&p))
			return "TYPE needs exactly one type";
		return set_type(d, f, w);
	}
	p = skip_blank(p);
	if (f->help) {
		d->st.dup_meta++;
		return NULL;
	}
	/* Unescape in place: \\ and \n (and \" in OpenMetrics); other backslashes stay. */
	char *dst = p;
	f->help = p;
	for (; *p; p++) {
		char c = *p;
		if (c == '\\' && (p[1] == '\\' || p[1] == 'n' || (d->om && p[1] == '"'))) {
			c = p[1] == 'n' ? '\n' : p[1];
			p++;
		}
		*dst++ = c;
	}
	*dst = '\0';
	if (!valid_utf8((unsigned char *)f->help))
		return "HELP text is not valid UTF-8";
	return NULL;
}

static int fail(struct strbuf *err, size_t line, const char *why, int code)
{
	if (err)
		sb_printf(err, "line %zu: %s", line, why);
	return code;
}

int expo_parse(struct expo_doc **out, const char *text, size_t len, const struct expo_parse_opts *o,
	       struct strbuf *err)
{
	char *copy = malloc(len + 1);
	*out = NULL;
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	return expo_parse_take(out, copy, len, o, err);
}

int expo_parse_take(struct expo_doc **out, char *text, size_t len, const struct expo_parse_opts *o,
		    struct strbuf *err)
{
	*out = NULL;
	if (memchr(text, '\0', len)) {
		free(text);
		return fail(err, 0, "NUL byte in the body", -EINVAL);
	}
	struct expo_doc *d = calloc(1, sizeof(*d));
	if (!d) {
		free(text);
		return -ENOMEM;
	}
	d->text = text;
	d->text[len] = '\0';
	d->om = o && o->openmetrics;
	d->max_series = o ? o->max_series : 0;
	d->max_label_bytes = o ? o->max_label_bytes : 0;
	d->cur = NONE;

	char *p = d->text, *end = d->text + len;
	size_t line = 0;
	bool eof = false;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *le = nl ? nl : end;
		*le = '\0';
		if (le > p && le[-1] == '\r')
			le[-1] = '\0';
		line++;
		if (eof) { /* OpenMetrics: nothing may follow "# EOF" */
			expo_doc_free(d);
			return fail(err, line, "text after # EOF", -EINVAL);
		}
		char *s = skip_blank(p);
		const char *why = NULL;
		if (*s == '#')
			why = parse_comment(d, s, &eof);
		else if (*s)
			why = parse_sample(d, s);
		if (why) {
			int code = !strcmp(why, "out of memory")  ? -ENOMEM
				: !strcmp(why, "too many series") ? -E2BIG
				: strstr(why, " too long")	  ? -EMSGSIZE
								  : -EINVAL;
			expo_doc_free(d);
			return fail(err, line, why, code);
		}
		p = le + 1;
	}
	if (d->om && !eof) {
		expo_doc_free(d);
		return fail(err, line, "OpenMetrics body does not end with # EOF (truncated?)", -EINVAL);
	}
	for (size_t i = 0; i < d->nfam; i++) {
		if (d->fams[i].nsamples) {
			d->st.families++;
			d->st.series += d->fams[i].nsamples;
		}
	}
	*out = d;
	return 0;
}
