/* Exposition text parser and renderer. The parser works in place on a private buffer (a copy
 * of the body, or the body itself: expo_parse_take): tokens are NUL-terminated where they end
 * and label values are unescaped over their own escaped text (never longer), so a 10k-series
 * scrape costs at most one copy and a few arrays. */
#include "expo.h"

#include "util/array.h"
#include "util/strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum ftype { T_UNTYPED, T_COUNTER, T_GAUGE, T_HISTOGRAM, T_SUMMARY, T_GAUGEHIST };

#define NONE UINT32_MAX

struct label {
	char *name, *value;
};

struct sample {
	char *name;
	char *value; /* the token as written, re-emitted when it is a plain decimal */
	double v;
	long long ts_ms;
	bool has_ts;
	uint32_t lbl, nlbl; /* range in doc->labels */
	uint32_t next;      /* next sample of the same family */
	uint64_t hash;
};

struct family {
	char *name;        /* as declared (TYPE/HELP) or as the first sample spelled it */
	char *out;         /* Prometheus family name when it differs from name (owned) */
	const char *prefix; /* set by expo_doc_reserve */
	char *help;
	enum ftype type;
	bool typed;      /* a TYPE line was seen */
	bool om_counter; /* OpenMetrics counter: samples are name_total (name_created dropped) */
	bool om_info;    /* OpenMetrics info: samples are name_info */
	bool dropped;
	uint32_t first, last, nsamples;
};

struct table {
	uint32_t *slot; /* index + 1; 0 = empty */
	size_t cap, n;
};

struct expo_doc {
	char *text;
	bool om;
	size_t max_series, max_label_bytes;
	struct family *fams;
	size_t nfam, capfam;
	struct sample *samples;
	size_t ns, caps;
	struct label *labels;
	size_t nl, capl;
	struct table fam_by_name, series;
	uint32_t cur; /* family the previous line belonged to */
	struct expo_stats st;
};

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (h ^ 0xff) * 1099511628211ull; /* separator, so ("ab","c") != ("a","bc") */
}

#define FNV0 14695981039346656037ull

/* Open addressing, kept at most half full; the caller's eq() decides what an entry matches. */
static bool table_full(const struct table *t)
{
	return (t->n + 1) * 2 > t->cap;
}

static uint32_t *table_find(struct table *t, uint64_t h, bool (*eq)(void *, uint32_t, const void *),
			    void *ctx, const void *key)
{
	size_t mask = t->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t *s = &t->slot[i];
		if (!*s || eq(ctx, *s - 1, key))
			return s;
	}
}

static bool fam_eq(void *ctx, uint32_t idx, const void *key)
{
	return !strcmp(((struct expo_doc *)ctx)->fams[idx].name, key);
}

static bool series_eq(void *ctx, uint32_t idx, const void *key)
{
	struct expo_doc *d = ctx;
	const struct sample *a = &d->samples[idx], *b = key;
	if (a->hash != b->hash || a->nlbl != b->nlbl || strcmp(a->name, b->name))
		return false;
	for (uint32_t i = 0; i < a->nlbl; i++) {
		const struct label *x = &d->labels[a->lbl + i], *y = &d->labels[b->lbl + i];
		if (strcmp(x->name, y->name) || strcmp(x->value, y->value))
			return false;
	}
	return true;
}

static uint64_t fam_hash(const struct family *f)
{
	return fnv(FNV0, f->name);
}

static int table_rehash(struct expo_doc *d, struct table *t, bool fams)
{
	size_t cap = t->cap ? t->cap * 2 : 256;
	uint32_t *old = t->slot;
	size_t oldcap = t->cap;
	t->slot = calloc(cap, sizeof(*t->slot));
	if (!t->slot) {
		t->slot = old;
		return -ENOMEM;
	}
	t->cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i])
			continue;
		uint32_t idx = old[i] - 1;
		uint64_t h = fams ? fam_hash(&d->fams[idx]) : d->samples[idx].hash;
		size_t mask = cap - 1, j = h & mask;
		while (t->slot[j])
			j = (j + 1) & mask;
		t->slot[j] = old[i];
	}
	free(old);
	return 0;
}

static struct family *fam_lookup(struct expo_doc *d, const char *name, uint32_t **slot)
{
	if (table_full(&d->fam_by_name) && table_rehash(d, &d->fam_by_name, true) < 0)
		return NULL;
	uint32_t *s = table_find(&d->fam_by_name, fnv(FNV0, name), fam_eq, d, name);
	if (slot)
		*slot = s;
	return *s ? &d->fams[*s - 1] : NULL;
}

static struct family *fam_new(struct expo_doc *d, char *name, uint32_t *slot)
{
	if (!array_grow((void **)&d->fams, &d->capfam, d->nfam + 1, sizeof(*d->fams)))
		return NULL;
	struct family *f = &d->fams[d->nfam];
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->prefix = "";
	f->first = f->last = NONE;
	*slot = (uint32_t)++d->nfam;
	d->fam_by_name.n++;
	d->cur = (uint32_t)(d->nfam - 1);
	return f;
}

static const char *after(const char *name, const char *base)
{
	size_t n = strlen(base);
	return strncmp(name, base, n) ? NULL : name + n;
}

/* 1: the sample belongs to f; -1: it belongs but has no Prometheus form; 0: not f's. */
static int fam_match(const struct expo_doc *d, const struct family *f, const char *name)
{
	const char *sfx = after(name, f->name);
	if (!sfx)
		return 0;
	bool created = !strcmp(sfx, "_created") && d->om;
	switch (f->type) {
	case T_UNTYPED:
	case T_GAUGE:
		if (f->om_info)
			return !strcmp(sfx, "_info");
		return !*sfx;
	case T_COUNTER:
		if (f->om_counter)
			return !strcmp(sfx, "_total") ? 1 : created ? -1 : 0;
		return !*sfx;
	case T_HISTOGRAM:
		if (!strcmp(sfx, "_bucket") || !strcmp(sfx, "_sum") || !strcmp(sfx, "_count"))
			return 1;
		return created ? -1 : 0;
	case T_SUMMARY:
		if (!*sfx || !strcmp(sfx, "_sum") || !strcmp(sfx, "_count"))
			return 1;
		return created ? -1 : 0;
	case T_GAUGEHIST:
		return (!strcmp(sfx, "_bucket") || !strcmp(sfx, "_gcount") || !strcmp(sfx, "_gsum") ||
			!strcmp(sfx, "_created")) ? -1 : 0;
	}
	return 0;
}

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
	static const char *const sfx[] = { "_bucket", "_count", "_sum", "_total", "_created",
					   "_info", "_gcount", "_gsum" };
	if (d->cur != NONE && (*m = fam_match(d, &d->fams[d->cur], name)))
		return &d->fams[d->cur];
	struct family *f = fam_lookup(d, name, NULL);
	if (f && (*m = fam_match(d, f, name)))
		return f;
	char base[256];
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t k = strlen(sfx[i]);
		if (n <= k || n - k >= sizeof(base) || strcmp(name + n - k, sfx[i]))
			continue;
		memcpy(base, name, n - k);
		base[n - k] = '\0';
		f = fam_lookup(d, base, NULL);
		if (f && (*m = fam_match(d, f, name)))
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
		if (fam_lookup(d, s->name, &slot))
			return "sample does not fit the family of its name";
		if (!(f = fam_new(d, s->name, slot)))
			return "out of memory";
		m = 1;
	}
	d->cur = (uint32_t)(f - d->fams);
	if (m < 0) {
		d->st.dropped++;
		return NULL;
	}
	s->hash = fnv(FNV0, s->name);
	for (uint32_t i = 0; i < s->nlbl; i++) {
		s->hash = fnv(s->hash, d->labels[s->lbl + i].name);
		s->hash = fnv(s->hash, d->labels[s->lbl + i].value);
	}
	if (table_full(&d->series) && table_rehash(d, &d->series, false) < 0)
		return "out of memory";
	uint32_t *slot = table_find(&d->series, s->hash, series_eq, d, s);
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
	d->series.n++;
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
	static const struct { const char *w; enum ftype t; } types[] = {
		{ "counter", T_COUNTER }, { "gauge", T_GAUGE }, { "histogram", T_HISTOGRAM },
		{ "summary", T_SUMMARY }, { "untyped", T_UNTYPED }, { "unknown", T_UNTYPED },
		{ "stateset", T_GAUGE }, { "info", T_GAUGE }, { "gaugehistogram", T_GAUGEHIST },
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
	struct family *f = fam_lookup(d, name, &slot);
	if (!f && !(f = fam_new(d, name, slot)))
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

int expo_parse(struct expo_doc **out, const char *text, size_t len,
	       const struct expo_parse_opts *o, struct strbuf *err)
{
	char *copy = malloc(len + 1);
	*out = NULL;
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	return expo_parse_take(out, copy, len, o, err);
}

int expo_parse_take(struct expo_doc **out, char *text, size_t len,
		    const struct expo_parse_opts *o, struct strbuf *err)
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
			int code = !strcmp(why, "out of memory") ? -ENOMEM
				   : !strcmp(why, "too many series") ? -E2BIG
				   : strstr(why, " too long") ? -EMSGSIZE : -EINVAL;
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

void expo_doc_free(struct expo_doc *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nfam; i++)
		free(d->fams[i].out);
	free(d->fams);
	free(d->samples);
	free(d->labels);
	free(d->fam_by_name.slot);
	free(d->series.slot);
	free(d->text);
	free(d);
}

const struct expo_stats *expo_doc_stats(const struct expo_doc *d)
{
	return &d->st;
}

static const char *fam_out(const struct family *f)
{
	return f->out ? f->out : f->name;
}

static bool fam_reserved(const struct expo_doc *d, const struct family *f, expo_reserved_fn r)
{
	if (r(fam_out(f)))
		return true;
	const char *last = NULL;
	for (uint32_t i = f->first; i != NONE; i = d->samples[i].next) {
		const char *n = d->samples[i].name;
		if ((!last || strcmp(n, last)) && r(n))
			return true;
		last = n;
	}
	return false;
}

void expo_doc_reserve(struct expo_doc *d, expo_reserved_fn reserved, const char *prefix)
{
	size_t pl = strlen(prefix);
	for (size_t i = 0; i < d->nfam; i++) {
		struct family *f = &d->fams[i];
		if (!f->nsamples || !fam_reserved(d, f, reserved))
			continue;
		const char *n = fam_out(f);
		bool taken = false;
		for (size_t j = 0; j < d->nfam && !taken; j++) {
			const struct family *g = &d->fams[j];
			const char *o = fam_out(g);
			taken = j != i && g->nsamples && !g->dropped && !*g->prefix &&
				!strncmp(o, prefix, pl) && !strcmp(o + pl, n);
		}
		if (taken) {
			f->dropped = true;
			d->st.clashed++;
			d->st.families--;
			d->st.series -= f->nsamples;
		} else {
			f->prefix = prefix;
			d->st.renamed++;
		}
	}
}

/* ---- rendering ----------------------------------------------------------------------- */

static void put_help(struct strbuf *out, const char *s, bool om)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_append(out, "\\\\", 2);
		else if (*s == '\n')
			sb_append(out, "\\n", 2);
		else if (*s == '"' && om)
			sb_append(out, "\\\"", 2);
		else
			sb_putc(out, *s);
	}
}

static const char *type_word(const struct family *f, bool om)
{
	switch (f->type) {
	case T_COUNTER: return "counter";
	case T_GAUGE: return "gauge";
	case T_HISTOGRAM: return "histogram";
	case T_SUMMARY: return "summary";
	default: return om ? "unknown" : "untyped";
	}
}

static void put_value(struct strbuf *out, const struct sample *s)
{
	if (isnan(s->v))
		sb_puts(out, "NaN");
	else if (isinf(s->v))
		sb_puts(out, s->v > 0 ? "+Inf" : "-Inf");
	else if (strspn(s->value, "0123456789.eE+-") == strlen(s->value))
		sb_puts(out, s->value);
	else
		sb_printf(out, "%.17g", s->v);
}

static void put_labels(struct strbuf *out, const struct expo_doc *d, const struct sample *s,
		       const struct expo_label_set *add, const char *pre)
{
	if (!*pre && !s->nlbl)
		return;
	sb_putc(out, '{');
	sb_puts(out, pre);
	bool comma = *pre;
	for (uint32_t i = 0; i < s->nlbl; i++) {
		const struct label *l = &d->labels[s->lbl + i];
		bool clash = false;
		for (size_t k = 0; add && k < add->n && !clash; k++)
			clash = !strcmp(add->names[k], l->name);
		if (clash) {
			/* Keep the app's value as exported_<name>, unless the app has that too. */
			bool twice = false;
			for (uint32_t j = 0; j < s->nlbl && !twice; j++) {
				const char *o = d->labels[s->lbl + j].name;
				twice = !strncmp(o, "exported_", 9) && !strcmp(o + 9, l->name);
			}
			if (twice)
				continue;
		}
		if (comma)
			sb_putc(out, ',');
		comma = true;
		if (clash)
			sb_puts(out, "exported_");
		sb_puts(out, l->name);
		sb_append(out, "=\"", 2);
		sb_label_value(out, l->value);
		sb_putc(out, '"');
	}
	sb_putc(out, '}');
}

/* ---- OpenMetrics: one MetricPoint's samples together, and only what the format allows --- */

/* The label that tells a histogram's buckets (le) or a summary's quantiles apart within one
 * series; every other label names the series (OpenMetrics' MetricPoint). */
static bool point_label(const struct family *f, const struct sample *s, const struct label *l)
{
	const char *sfx = after(s->name, f->name);
	if (f->type == T_HISTOGRAM)
		return sfx && !strcmp(sfx, "_bucket") && !strcmp(l->name, "le");
	if (f->type == T_SUMMARY)
		return sfx && !*sfx && !strcmp(l->name, "quantile");
	return false;
}

static const struct label *label_of(const struct expo_doc *d, const struct sample *s, const char *name)
{
	for (uint32_t i = 0; i < s->nlbl; i++)
		if (!strcmp(d->labels[s->lbl + i].name, name))
			return &d->labels[s->lbl + i];
	return NULL;
}

/* Order-independent: an app may write a series' labels in a different order per sample. */
static uint64_t point_hash(const struct expo_doc *d, const struct family *f, const struct sample *s)
{
	uint64_t h = 0;
	for (uint32_t i = 0; i < s->nlbl; i++) {
		const struct label *l = &d->labels[s->lbl + i];
		if (!point_label(f, s, l))
			h += fnv(fnv(FNV0, l->name), l->value);
	}
	return h;
}

static bool same_point(const struct expo_doc *d, const struct family *f, const struct sample *a,
		       const struct sample *b)
{
	uint32_t na = 0, nb = 0;
	for (uint32_t i = 0; i < a->nlbl; i++) {
		const struct label *x = &d->labels[a->lbl + i];
		if (point_label(f, a, x))
			continue;
		na++;
		const struct label *y = label_of(d, b, x->name);
		if (!y || point_label(f, b, y) || strcmp(x->value, y->value))
			return false;
	}
	for (uint32_t i = 0; i < b->nlbl; i++)
		nb += !point_label(f, b, &d->labels[b->lbl + i]);
	return na == nb;
}

/* Fills order[0..n) with f's samples, each point's samples together in the order the points
 * first appear (Prometheus text allows a histogram's _sum lines after all its buckets;
 * OpenMetrics does not). Returns false on out of memory. */
static bool point_order(const struct expo_doc *d, const struct family *f, uint32_t *order)
{
	uint32_t n = f->nsamples, ng = 0, k = 0;
	size_t cap = 16;
	while (cap < 2 * (size_t)n)
		cap *= 2;
	uint32_t *seq = malloc(n * sizeof(*seq)), *gid = malloc(n * sizeof(*gid));
	uint32_t *rep = malloc(n * sizeof(*rep)), *start = calloc((size_t)n + 1, sizeof(*start));
	uint32_t *tab = calloc(cap, sizeof(*tab));
	bool ok = seq && gid && rep && start && tab;
	for (uint32_t i = f->first; ok && i != NONE; i = d->samples[i].next)
		seq[k++] = i;
	for (uint32_t j = 0; ok && j < n; j++) {
		const struct sample *s = &d->samples[seq[j]];
		size_t at = point_hash(d, f, s) & (cap - 1);
		while (tab[at] && !same_point(d, f, &d->samples[rep[tab[at] - 1]], s))
			at = (at + 1) & (cap - 1);
		if (!tab[at]) {
			rep[ng] = seq[j];
			tab[at] = ++ng;
		}
		gid[j] = tab[at] - 1;
		start[gid[j] + 1]++;
	}
	for (uint32_t g = 0; ok && g < ng; g++)
		start[g + 1] += start[g];
	for (uint32_t j = 0; ok && j < n; j++)
		order[start[gid[j]]++] = seq[j];
	free(seq);
	free(gid);
	free(rep);
	free(start);
	free(tab);
	return ok;
}

static bool whole(double v)
{
	return v >= 0 && v == floor(v);
}

/* Checks one point [a, b) of a histogram or summary against what OpenMetrics requires. */
static bool point_valid(const struct expo_doc *d, const struct family *f, const uint32_t *order,
			uint32_t a, uint32_t b)
{
	bool inf = false, has_sum = false, has_count = false, neg_le = false, any = false;
	double last_le = 0, last = 0, count = 0;
	const struct sample *first = &d->samples[order[a]];
	for (uint32_t j = a; j < b; j++) {
		const struct sample *s = &d->samples[order[j]];
		const char *sfx = after(s->name, f->name);
		/* a point is one instant: all its samples share one timestamp, or none has one */
		if (s->has_ts != first->has_ts || (s->has_ts && s->ts_ms != first->ts_ms))
			return false;
		if (!strcmp(sfx, "_sum")) {
			has_sum = true;
			if (isnan(s->v) || s->v < 0)
				return false;
		} else if (!strcmp(sfx, "_count")) {
			has_count = true;
			count = s->v;
			if (!whole(s->v))
				return false;
		} else if (f->type == T_SUMMARY) {
			const struct label *q = label_of(d, s, "quantile");
			char *e;
			double qv = q ? strtod(q->value, &e) : NAN;
			if (!q || *e || !(qv >= 0 && qv <= 1) || s->v < 0)
				return false;
		} else {
			const struct label *le = label_of(d, s, "le");
			char *e;
			double lv = le ? strtod(le->value, &e) : NAN;
			if (!le || *e || isnan(lv) || (isinf(lv) && strcmp(le->value, "+Inf")) ||
			    (any && lv <= last_le) || !whole(s->v) || s->v < last)
				return false;
			any = true;
			inf = isinf(lv) > 0;
			neg_le |= lv < 0;
			last_le = lv;
			last = s->v;
		}
	}
	if (f->type == T_SUMMARY)
		return has_sum == has_count;
	return inf && has_sum == has_count && (!has_count || count == last) && !(neg_le && has_sum);
}

/* Whether f, in the given order, is a valid OpenMetrics family of its type. */
static bool om_valid(const struct expo_doc *d, const struct family *f, const uint32_t *order)
{
	uint32_t n = f->nsamples;
	if (f->type == T_COUNTER) {
		for (uint32_t j = 0; j < n; j++)
			if (isnan(d->samples[order[j]].v) || d->samples[order[j]].v < 0)
				return false;
		return true;
	}
	if (f->type != T_HISTOGRAM && f->type != T_SUMMARY)
		return true;
	for (uint32_t a = 0, b; a < n; a = b) {
		for (b = a + 1; b < n && same_point(d, f, &d->samples[order[a]], &d->samples[order[b]]); b++)
			;
		if (!point_valid(d, f, order, a, b))
			return false;
	}
	return true;
}

/* A family OpenMetrics cannot carry as its type (a histogram without +Inf bucket, a NaN
 * counter...) goes out as untyped samples, grouped by name, rather than as invalid text
 * that would fail the whole scrape. */
static void untyped_order(const struct expo_doc *d, const struct family *f, uint32_t *order)
{
	uint32_t n = f->nsamples, k = 0;
	for (uint32_t i = f->first; i != NONE; i = d->samples[i].next) {
		bool seen = false;
		for (uint32_t j = 0; j < k && !seen; j++)
			seen = !strcmp(d->samples[order[j]].name, d->samples[i].name);
		if (seen)
			continue;
		for (uint32_t m = i; m != NONE && k < n; m = d->samples[m].next)
			if (!strcmp(d->samples[m].name, d->samples[i].name))
				order[k++] = m;
	}
}

/* OpenMetrics names a counter family without "_total" and its samples with it: whether
 * another family already has one of those names (0.0.4 text allows a counter "a_total" next
 * to a gauge "a"). Such a counter goes out untyped: the clash would fail the whole scrape. */
static bool om_counter_clash(const struct expo_doc *d, const struct family *f)
{
	if (!f->typed || f->type != T_COUNTER)
		return false;
	const char *name = fam_out(f);
	size_t n = strlen(name), pl = strlen(f->prefix);
	if (n > 6 && !strcmp(name + n - 6, "_total"))
		n -= 6;
	char *t = malloc(pl + n + 7); /* prefix + family name, then + "_total" */
	if (!t)
		return false;
	memcpy(t, f->prefix, pl);
	memcpy(t + pl, name, n);
	strcpy(t + pl + n, "_total");
	bool clash = false;
	for (size_t j = 0; j < d->nfam && !clash; j++) {
		const struct family *g = &d->fams[j];
		size_t gl = strlen(g->prefix);
		if (g == f || !g->nsamples || g->dropped || gl > pl + n || strncmp(t, g->prefix, gl))
			continue;
		/* g's full name is t's family name, or t itself (the samples' name) */
		const char *go = fam_out(g), *rest = t + gl;
		size_t rn = pl + n - gl;
		clash = !strcmp(rest, go) || (strlen(go) == rn && !strncmp(rest, go, rn));
	}
	free(t);
	return clash;
}

static void put_sample(struct strbuf *out, const struct expo_doc *d, const struct family *f,
		       const struct sample *s, const char *sample_sfx, const struct expo_label_set *add,
		       const char *pre, bool om, bool no_ts)
{
	sb_puts(out, f->prefix);
	sb_puts(out, s->name);
	sb_puts(out, sample_sfx);
	put_labels(out, d, s, add, pre);
	sb_putc(out, ' ');
	put_value(out, s);
	if (s->has_ts && !no_ts) {
		long long ms = s->ts_ms;
		/* unsigned: llabs(LLONG_MIN) overflows (a text timestamp may be that) */
		unsigned long long a = ms < 0 ? 0ull - (unsigned long long)ms : (unsigned long long)ms;
		if (!om)
			sb_printf(out, " %lld", ms);
		else
			sb_printf(out, " %s%llu.%03llu", ms < 0 ? "-" : "", a / 1000, a % 1000);
	}
	sb_putc(out, '\n');
}

static void put_family(struct strbuf *out, const struct expo_doc *d, const struct family *f,
		       const struct expo_label_set *add, const char *pre, bool om, bool no_ts)
{
	uint32_t *order = NULL;
	bool degraded = false;
	if (om && (order = malloc(f->nsamples * sizeof(*order)))) {
		if (!point_order(d, f, order) || !om_valid(d, f, order) || om_counter_clash(d, f)) {
			untyped_order(d, f, order);
			degraded = true;
		}
	}
	bool typed = f->typed && !degraded;
	const char *name = fam_out(f);
	size_t nlen = strlen(name);
	/* OpenMetrics names a counter family without _total and its samples with it. */
	const char *sample_sfx = "";
	if (om && typed && f->type == T_COUNTER) {
		if (nlen > 6 && !strcmp(name + nlen - 6, "_total"))
			nlen -= 6;
		else
			sample_sfx = "_total";
	}
	if (f->help && !degraded) {
		sb_printf(out, "# HELP %s%.*s ", f->prefix, (int)nlen, name);
		put_help(out, f->help, om);
		sb_putc(out, '\n');
	}
	if (typed)
		sb_printf(out, "# TYPE %s%.*s %s\n", f->prefix, (int)nlen, name, type_word(f, om));
	if (order) {
		for (uint32_t j = 0; j < f->nsamples; j++)
			put_sample(out, d, f, &d->samples[order[j]], sample_sfx, add, pre, om, no_ts);
	} else { /* 0.0.4 text as parsed; or OpenMetrics with no memory to reorder: best effort */
		for (uint32_t i = f->first; i != NONE; i = d->samples[i].next)
			put_sample(out, d, f, &d->samples[i], sample_sfx, add, pre, om, no_ts);
	}
	free(order);
}

void expo_render(const struct expo_doc *d, const struct expo_label_set *add,
		 enum exposition_format f, bool no_timestamps, struct strbuf *out)
{
	struct strbuf pre;
	sb_init(&pre);
	for (size_t k = 0; add && k < add->n; k++) {
		sb_printf(&pre, "%s%s=\"", k ? "," : "", add->names[k]);
		sb_label_value(&pre, add->values[k]);
		sb_putc(&pre, '"');
	}
	for (size_t i = 0; i < d->nfam; i++) {
		const struct family *fam = &d->fams[i];
		if (fam->nsamples && !fam->dropped)
			put_family(out, d, fam, add, pre.buf ? pre.buf : "", f == EXPO_OPENMETRICS,
				   no_timestamps);
	}
	sb_free(&pre);
}
