// SPDX-License-Identifier: GPL-2.0
/* What /metrics answers in: content negotiation on Accept, and the metadata lines every
 * collector writes the same way in both formats. */
#include "server.h"

#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct offer {
	const char *type, *subtype, *version;
};

/* What we can answer, indexed by enum exposition_format. */
static const struct offer offers[] = {
	[EXPO_PROMETHEUS] = { "text", "plain", "0.0.4" },
	[EXPO_OPENMETRICS] = { "application", "openmetrics-text", "1.0.0" },
};

/* How one offer fares against the header: the q of the most specific range that matches it
 * (RFC 9110 12.5.1), how specific that range was, and where it stood in the header. */
struct match {
	double q;
	int spec; /* -1: no range matches; 0 any type, 1 type/any, 2 type/subtype, 3 with our version */
	int pos;
};

static const char *skip_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static size_t token_len(const char *p, const char *end)
{
	size_t n = 0;
	while (p + n < end && !strchr(" \t,;=/\"", p[n]))
		n++;
	return n;
}

static bool tok_eq(const char *p, size_t n, const char *s)
{
	return n == strlen(s) && !strncasecmp(p, s, n);
}

/* A parameter value: a token or a quoted-string (quotes and backslash escapes removed). */
static const char *param_value(const char *p, const char *end, char *val, size_t cap)
{
	size_t n = 0;
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (n + 1 < cap)
				val[n++] = *p;
		}
		if (p < end)
			p++;
	} else {
		size_t t = token_len(p, end);
		for (size_t i = 0; i < t; i++)
			if (n + 1 < cap)
				val[n++] = p[i];
		p += t;
	}
	val[n] = '\0';
	return p;
}

/* Parses one media range [p, end) and updates each offer's match. A malformed range is
 * skipped, as if it were not there. */
static void match_range(const char *p, const char *end, int pos, struct match m[2])
{
	p = skip_ows(p, end);
	const char *type = p;
	size_t tl = token_len(p, end);
	p += tl;
	if (!tl || p >= end || *p != '/')
		return;
	const char *sub = ++p;
	size_t sl = token_len(p, end);
	p += sl;
	if (!sl)
		return;
	double q = 1;
	char version[32] = "";
	bool has_version = false;
	for (;;) {
		p = skip_ows(p, end);
		if (p >= end)
			break;
		if (*p != ';')
			return;
		p = skip_ows(p + 1, end);
		const char *name = p;
		size_t nl = token_len(p, end);
		p = skip_ows(p + nl, end);
		if (!nl || p >= end || *p != '=')
			return;
		char val[32];
		p = param_value(skip_ows(p + 1, end), end, val, sizeof(val));
		if (tok_eq(name, nl, "q")) {
			char *e;
			q = strtod(val, &e);
			if (e == val || *e || q < 0 || q > 1)
				return;
			break; /* what follows q is accept-ext, not media type parameters */
		}
		if (tok_eq(name, nl, "version")) {
			has_version = true;
			snprintf(version, sizeof(version), "%s", val);
		}
	}
	for (int i = 0; i < 2; i++) {
		const struct offer *o = &offers[i];
		int spec;
		if (tok_eq(type, tl, "*") && tok_eq(sub, sl, "*"))
			spec = 0;
		else if (!tok_eq(type, tl, o->type))
			continue;
		else if (tok_eq(sub, sl, "*"))
			spec = 1;
		else if (!tok_eq(sub, sl, o->subtype))
			continue;
		else if (!has_version)
			spec = 2;
		else if (!strcmp(version, o->version))
			spec = 3;
		else
			continue; /* another version of the format: not what we serve */
		if (spec > m[i].spec)
			m[i] = (struct match){ q, spec, pos };
	}
}

enum exposition_format http_accept_format(const char *accept)
{
	struct match m[2] = { { 0, -1, 0 }, { 0, -1, 0 } };
	if (!accept)
		return EXPO_PROMETHEUS;
	const char *p = accept, *end = accept + strlen(accept);
	for (int pos = 0; p < end; pos++) {
		/* Ranges are split at commas outside quoted parameter values. */
		const char *e = p;
		bool quoted = false;
		for (; e < end && (quoted || *e != ','); e++) {
			if (*e == '\\' && quoted && e + 1 < end)
				e++;
			else if (*e == '"')
				quoted = !quoted;
		}
		match_range(p, e, pos, m);
		p = e < end ? e + 1 : e;
	}
	const struct match *om = &m[EXPO_OPENMETRICS], *pr = &m[EXPO_PROMETHEUS];
	if (om->spec < 0 || om->q <= 0)
		return EXPO_PROMETHEUS;
	if (pr->spec < 0 || om->q != pr->q)
		return om->q > pr->q || pr->spec < 0 ? EXPO_OPENMETRICS : EXPO_PROMETHEUS;
	/* Equal weight: the range that names the format more precisely, then the one listed
	 * first; "*" alone (curl's default) leaves the 0.0.4 text. */
	if (om->spec != pr->spec)
		return om->spec > pr->spec ? EXPO_OPENMETRICS : EXPO_PROMETHEUS;
	return om->pos < pr->pos ? EXPO_OPENMETRICS : EXPO_PROMETHEUS;
}

static bool ends_with(const char *s, size_t n, const char *sfx)
{
	size_t k = strlen(sfx);
	return n > k && !memcmp(s + n - k, sfx, k);
}

void http_expo_family(struct strbuf *out, enum exposition_format f, const char *name, const char *type,
		      const char *help)
{
	bool om = f == EXPO_OPENMETRICS;
	size_t n = strlen(name);
	if (om && !strcmp(type, "counter") && ends_with(name, n, "_total"))
		n -= 6;
	sb_printf(out, "# HELP %.*s ", (int)n, name);
	/* 0.0.4 escapes only backslash and newline in HELP; OpenMetrics also the double quote. */
	for (const char *s = help; *s; s++) {
		if (*s == '\\')
			sb_puts(out, "\\\\");
		else if (*s == '\n')
			sb_puts(out, "\\n");
		else if (*s == '"' && om)
			sb_puts(out, "\\\"");
		else
			sb_putc(out, *s);
	}
	sb_printf(out, "\n# TYPE %.*s %s\n", (int)n, name, type);
	/* OpenMetrics requires a family with a UNIT to end in _<unit>: derive it from there. */
	if (om && ends_with(name, n, "_seconds"))
		sb_printf(out, "# UNIT %.*s seconds\n", (int)n, name);
	else if (om && ends_with(name, n, "_bytes"))
		sb_printf(out, "# UNIT %.*s bytes\n", (int)n, name);
}
