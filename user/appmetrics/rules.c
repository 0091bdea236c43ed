// SPDX-License-Identifier: GPL-2.0
#include "rules.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "off", an http(s) URL, or PORT[/PATH] on the pod's localhost (PATH default: def_path). */
static int endpoint(const char *v, size_t n, const char *def_path, char *out, const char *key, char *err,
		    size_t errlen)
{
	if (n == 3 && !memcmp(v, "off", 3)) {
		snprintf(out, AM_URL_MAX, "off");
		return 0;
	}
	if ((n > 7 && !memcmp(v, "http://", 7)) || (n > 8 && !memcmp(v, "https://", 8))) {
		if (n >= AM_URL_MAX)
			goto bad;
		snprintf(out, AM_URL_MAX, "%.*s", (int)n, v);
		return 0;
	}
	size_t digits = 0;
	unsigned long port = 0;
	while (digits < n && isdigit((unsigned char)v[digits]) && digits < 6)
		port = port * 10 + (unsigned long)(v[digits++] - '0');
	if (!digits || port == 0 || port > 65535 || (digits < n && v[digits] != '/') ||
	    n - digits >= AM_URL_MAX - 32)
		goto bad;
	if (digits == n)
		snprintf(out, AM_URL_MAX, "http://localhost:%lu%s", port, def_path);
	else
		snprintf(out, AM_URL_MAX, "http://localhost:%lu%.*s", port, (int)(n - digits), v + digits);
	return 0;
bad:
	snprintf(err, errlen, "%s=%.*s: expected PORT[/PATH], an http:// or https:// URL, or off", key,
		 (int)(n > 80 ? 80 : n), v);
	return -EINVAL;
}

static int pattern(const char *w, size_t n, struct am_rule *out, char *err, size_t errlen)
{
	const char *slash = memchr(w, '/', n);
	size_t nsl = slash ? (size_t)(slash - w) : 0;
	const char *g = slash ? slash + 1 : w;
	size_t gl = n - (size_t)(g - w);
	if (!gl || gl >= sizeof(out->glob) || nsl >= sizeof(out->ns) || (slash && !nsl) ||
	    memchr(w, '=', n)) {
		snprintf(err, errlen, "'%.*s': expected [NAMESPACE/]GLOB first", (int)(n > 80 ? 80 : n), w);
		return -EINVAL;
	}
	memcpy(out->ns, w, nsl);
	out->ns[nsl] = '\0';
	memcpy(out->glob, g, gl);
	out->glob[gl] = '\0';
	return 0;
}

static int setting(const char *w, size_t n, struct am_rule *out, char *err, size_t errlen)
{
	const char *eq = memchr(w, '=', n);
	size_t kl = eq ? (size_t)(eq - w) : n, vl = eq ? n - kl - 1 : 0;
	const char *v = eq ? eq + 1 : "";
	if (eq && vl && kl == 7 && !memcmp(w, "metrics", 7))
		return endpoint(v, vl, "/metrics", out->metrics, "metrics", err, errlen);
	if (eq && vl && kl == 6 && !memcmp(w, "health", 6))
		return endpoint(v, vl, "/healthz", out->health, "health", err, errlen);
	if (eq && vl && kl == 8 && !memcmp(w, "interval", 8)) {
		char num[16], *end = num;
		unsigned long s = 0;
		if (vl < sizeof(num)) {
			memcpy(num, v, vl);
			num[vl] = '\0';
			s = isdigit((unsigned char)num[0]) ? strtoul(num, &end, 10) : 0;
			if (*end)
				s = 0;
		}
		if (s >= 1 && s <= 86400) {
			out->interval = (unsigned)s;
			return 0;
		}
		snprintf(err, errlen, "interval=%.*s: expected whole seconds, 1 to 86400",
			 (int)(vl > 20 ? 20 : vl), v);
		return -EINVAL;
	}
	snprintf(err, errlen, "'%.*s': expected metrics=, interval= or health=", (int)(n > 80 ? 80 : n), w);
	return -EINVAL;
}

int am_rule_parse(const char *text, struct am_rule *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int words = 0;
	for (const char *p = text; *p;) {
		while (isspace((unsigned char)*p))
			p++;
		size_t n = 0;
		while (p[n] && !isspace((unsigned char)p[n]))
			n++;
		if (!n)
			break;
		int rc = words++ ? setting(p, n, out, err, errlen) : pattern(p, n, out, err, errlen);
		if (rc)
			return rc;
		p += n;
	}
	if (words < 2) {
		snprintf(err, errlen,
			 "expected [NAMESPACE/]GLOB and at least one of metrics=, interval=, health=");
		return -EINVAL;
	}
	return 0;
}

static void pick(char *out, const char *rule, const char *def)
{
	const char *v = rule && *rule ? rule : def;
	snprintf(out, AM_URL_MAX, "%s", v && strcmp(v, "off") ? v : "");
}

void am_pod_cfg(const struct am_rule *rules, int n, const struct am_defaults *d, const char *ns,
		const char *name, struct am_pod_cfg *out)
{
	bool known = ns && *ns;
	const struct am_rule *r = NULL;
	out->rule = -1;
	for (int i = 0; i < n && !r; i++) {
		if (fnmatch(rules[i].glob, name, 0) ||
		    (rules[i].ns[0] && (!known || fnmatch(rules[i].ns, ns, 0))))
			continue;
		r = &rules[i];
		out->rule = i;
	}
	pick(out->metrics, r ? r->metrics : NULL, d->metrics);
	pick(out->health, r ? r->health : NULL, d->health);
	out->interval = r && r->interval ? r->interval : d->interval;
}
