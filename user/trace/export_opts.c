// SPDX-License-Identifier: GPL-2.0
/* The exporter's options beyond its destination (target.c), resolved like the OpenTelemetry
 * SDKs do: request headers, compression and TLS files from --otlp-* or, where a flag is not
 * given, the per-signal OTEL_EXPORTER_OTLP_TRACES_* variable, else OTEL_EXPORTER_OTLP_*.
 * Headers merge by name: the generic variable, then the traces one, then the flags, later
 * ones replacing earlier ones of the same name. */
#include "internal.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fields the exporter sets itself, or that would change how the request is framed. */
static const char *const reserved[] = { "content-type",	     "content-length", "content-encoding",
					"transfer-encoding", "host",	       "te",
					"connection",	     "expect",	       "user-agent",
					"keep-alive",	     "upgrade" };

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c);
}

/* Trims blanks on both ends of [*b, *e). */
static void trim(const char **b, const char **e)
{
	while (*b < *e && (**b == ' ' || **b == '\t'))
		(*b)++;
	while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'    ? c - '0'
		: c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10
				       : -1;
}

/* One "name=value" (value percent-decoded when pct) into o, replacing a header of the same
 * name. Returns 0 or -EINVAL with why set. */
static int add_header(struct otlp_export_opts *o, const char *b, const char *e, bool pct, const char **why)
{
	const char *eq = memchr(b, '=', (size_t)(e - b));
	if (!eq) {
		*why = "expected NAME=VALUE";
		return -EINVAL;
	}
	const char *nb = b, *ne = eq, *vb = eq + 1, *ve = e;
	trim(&nb, &ne);
	trim(&vb, &ve);
	struct otlp_header h = { 0 };
	size_t nl = (size_t)(ne - nb);
	if (!nl || nl >= sizeof(h.name)) {
		*why = nl ? "header name too long" : "empty header name";
		return -EINVAL;
	}
	for (size_t i = 0; i < nl; i++) {
		if (!is_tchar((unsigned char)nb[i])) {
			*why = "header name with a character HTTP does not allow";
			return -EINVAL;
		}
		/* HTTP/2 (gRPC) wants lower case; HTTP/1.1 does not care. */
		h.name[i] = (char)tolower((unsigned char)nb[i]);
	}
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(h.name, reserved[i])) {
			*why = "a header the exporter sets itself";
			return -EINVAL;
		}
	if (!strncmp(h.name, "grpc-", 5)) {
		*why = "grpc-* headers are the gRPC protocol's own";
		return -EINVAL;
	}
	size_t vl = 0;
	for (const char *p = vb; p < ve; p++) {
		int c = (unsigned char)*p;
		if (pct && c == '%' && ve - p >= 3 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			c = hexval(p[1]) << 4 | hexval(p[2]);
			p += 2;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*why = "header value with a control character";
			return -EINVAL;
		}
		if (vl + 1 >= sizeof(h.value)) {
			*why = "header value too long";
			return -EINVAL;
		}
		h.value[vl++] = (char)c;
	}
	unsigned i;
	for (i = 0; i < o->nheaders && strcmp(o->headers[i].name, h.name); i++)
		;
	if (i == o->nheaders) {
		if (o->nheaders == OTLP_MAX_HEADERS) {
			*why = "too many headers";
			return -EINVAL;
		}
		o->nheaders++;
	}
	o->headers[i] = h;
	return 0;
}

/* How much of "name=value" an error message may show: the name (and '=') only, printable. */
static int name_len(const char *b, const char *e)
{
	const char *p = b;
	while (p < e && *p != '=' && (unsigned char)*p >= 0x20 && *p != 0x7f)
		p++;
	return (int)(p - b) + (p < e && *p == '=');
}

/* A W3C-baggage-like list "n1=v1,n2=v2" (values percent-encoded), as the OTel variables hold. */
static int add_header_list(struct otlp_export_opts *o, const char *what, const char *list)
{
	const char *p = list, *why = NULL;
	while (*p) {
		const char *e = p + strcspn(p, ",");
		const char *b = p, *t = e;
		trim(&b, &t);
		if (b < t && add_header(o, b, t, true, &why) < 0) {
			/* the name only: values are secrets (API keys, tokens) */
			log_error("trace", "%s: '%.*s': %s\n", what, name_len(b, t), b, why);
			return -EINVAL;
		}
		p = *e ? e + 1 : e;
	}
	return 0;
}

/* The flag, else the per-signal variable, else the generic one; *what names the source. */
static const char *pick(const char *flag, const char *flagname, const char *traces_var, const char *var,
			const char *(*env)(const char *), const char **what)
{
	const char *v;
	*what = flagname;
	if (flag && *flag)
		return flag;
	if ((v = env(traces_var)) && *v) {
		*what = traces_var;
		return v;
	}
	if ((v = env(var)) && *v) {
		*what = var;
		return v;
	}
	return NULL;
}

/* Compresses in[0..len) as one gzip member into g's buffer (*out valid until the next call).
 * Returns 0 or -ENOMEM. */
int otlp_gzip(struct otlp_gzip *g, const uint8_t *in, size_t len, const uint8_t **out, size_t *outlen)
{
	z_stream *z = &g->z;
	if (!g->init) {
		/* Level 1: spans compress well even so (ids and attributes repeat), at a fraction
		 * of the CPU of the default level. 15 + 16: a gzip header, not zlib's. */
		if (deflateInit2(z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		g->init = true;
	} else if (deflateReset(z) != Z_OK) {
		return -ENOMEM;
	}
	uLong cap = deflateBound(z, (uLong)len);
	if (cap > g->cap) {
		uint8_t *p = realloc(g->buf, cap);
		if (!p)
			return -ENOMEM;
		g->buf = p;
		g->cap = cap;
	}
	z->next_in = (Bytef *)in;
	z->avail_in = (uInt)len;
	z->next_out = g->buf;
	z->avail_out = (uInt)g->cap;
	if (deflate(z, Z_FINISH) != Z_STREAM_END)
		return -ENOMEM;
	*out = g->buf;
	*outlen = g->cap - z->avail_out;
	return 0;
}

void otlp_gzip_free(struct otlp_gzip *g)
{
	if (g->init)
		deflateEnd(&g->z);
	free(g->buf);
	memset(g, 0, sizeof(*g));
}

static int readable(const char *what, const char *path)
{
	if (path && access(path, R_OK) < 0) {
		log_error("trace", "%s %s: %s\n", what, path, strerror(errno));
		return -EINVAL;
	}
	return 0;
}

int otlp_timeout_resolve(unsigned flag_ms, const char *(*env)(const char *), unsigned *out)
{
	const char *what,
		*v = pick(NULL, "--otlp-timeout-ms", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
			  "OTEL_EXPORTER_OTLP_TIMEOUT", env, &what);
	char *end;
	if (flag_ms) {
		*out = flag_ms;
		return 0;
	}
	if (!v) {
		*out = OTLP_DEFAULT_TIMEOUT_MS;
		return 0;
	}
	errno = 0;
	unsigned long ms = strtoul(v, &end, 10);
	if (errno || end == v || *end || !ms || ms > 3600000) {
		log_error("trace", "%s %s: expected a time in milliseconds (1..3600000)\n", what, v);
		return -EINVAL;
	}
	*out = (unsigned)ms;
	return 0;
}

int otlp_export_opts_resolve(struct otlp_export_opts *o, const struct obsbpf_config *cfg, bool tls,
			     const char *(*env)(const char *))
{
	const char *what, *v, *why = NULL;
	memset(o, 0, sizeof(*o));
	if ((v = env("OTEL_EXPORTER_OTLP_HEADERS")) &&
	    add_header_list(o, "OTEL_EXPORTER_OTLP_HEADERS", v) < 0)
		return -EINVAL;
	if ((v = env("OTEL_EXPORTER_OTLP_TRACES_HEADERS")) &&
	    add_header_list(o, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", v) < 0)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->otlp_headers.n; i++) {
		const char *h = cfg->otlp_headers.v[i];
		if (add_header(o, h, h + strlen(h), false, &why) < 0) {
			log_error("trace", "--otlp-header '%.*s': %s\n", name_len(h, h + strlen(h)), h, why);
			return -EINVAL;
		}
	}

	v = pick(cfg->otlp_compression, "--otlp-compression", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
		 "OTEL_EXPORTER_OTLP_COMPRESSION", env, &what);
	if (v && !strcmp(v, "gzip"))
		o->gzip = true;
	else if (v && strcmp(v, "none")) {
		log_error("trace", "%s %s: expected gzip or none\n", what, v);
		return -EINVAL;
	}

	const char *wca, *wcert, *wkey;
	o->ca_file = pick(cfg->otlp_ca_file, "--otlp-ca-file", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
			  "OTEL_EXPORTER_OTLP_CERTIFICATE", env, &wca);
	o->client_cert = pick(cfg->otlp_client_cert, "--otlp-client-cert",
			      "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
			      "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", env, &wcert);
	o->client_key =
		pick(cfg->otlp_client_key, "--otlp-client-key", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
		     "OTEL_EXPORTER_OTLP_CLIENT_KEY", env, &wkey);
	if (!o->client_cert != !o->client_key) {
		log_error("trace", "%s %s: needs %s too\n", o->client_cert ? wcert : wkey,
			  o->client_cert ? o->client_cert : o->client_key,
			  o->client_cert ? "--otlp-client-key" : "--otlp-client-cert");
		return -EINVAL;
	}
	/* The variables may be set for every process of a pod: without TLS they do not apply
	 * (as in the SDKs); a flag that cannot apply is a mistake. */
	if (!tls) {
		if (o->ca_file && strncmp(wca, "--", 2))
			o->ca_file = NULL;
		if (o->client_cert && strncmp(wcert, "--", 2) && strncmp(wkey, "--", 2))
			o->client_cert = o->client_key = NULL;
	}
	if (!tls && (o->ca_file || o->client_cert)) {
		log_error("trace", "%s %s: the endpoint is not https://: set an https:// endpoint for TLS\n",
			  o->ca_file ? wca : wcert, o->ca_file ? o->ca_file : o->client_cert);
		return -EINVAL;
	}
	if (readable(wca, o->ca_file) < 0 || readable(wcert, o->client_cert) < 0 ||
	    readable(wkey, o->client_key) < 0)
		return -EINVAL;
	o->tls = tls;
	return 0;
}

int otel_resource_attrs_parse(const char *v, struct otlp_attr *out, size_t max, size_t *n, const char **why)
{
	static const char *const own[] = { "service.name", "k8s.pod.name", "k8s.namespace.name",
					   "k8s.node.name" };
	*n = 0;
	for (const char *p = v ? v : ""; *p;) {
		const char *e = p + strcspn(p, ","), *b = p, *t = e;
		trim(&b, &t);
		p = *e ? e + 1 : e;
		if (b == t)
			continue;
		const char *eq = memchr(b, '=', (size_t)(t - b));
		if (!eq || eq == b) {
			*why = "expected key=value";
			return -EINVAL;
		}
		struct otlp_attr a = { 0 };
		const char *kb = b, *ke = eq, *vb = eq + 1, *ve = t;
		trim(&kb, &ke);
		trim(&vb, &ve);
		if ((size_t)(ke - kb) >= sizeof(a.key)) {
			*why = "key too long";
			return -EINVAL;
		}
		memcpy(a.key, kb, (size_t)(ke - kb));
		size_t vl = 0;
		for (const char *q = vb; q < ve; q++) {
			if (vl + 1 >= sizeof(a.value)) {
				*why = "value too long";
				return -EINVAL;
			}
			if (*q == '%' && ve - q >= 3 && hexval(q[1]) >= 0 && hexval(q[2]) >= 0) {
				a.value[vl++] = (char)(hexval(q[1]) << 4 | hexval(q[2]));
				q += 2;
			} else {
				a.value[vl++] = *q;
			}
		}
		bool skip = !strncmp(a.key, "telemetry.sdk.", 14);
		for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
			skip |= !strcmp(a.key, own[i]);
		for (size_t i = 0; !skip && i < *n; i++)
			if (!strcmp(out[i].key, a.key)) { /* a later one replaces an earlier one */
				out[i] = a;
				skip = true;
			}
		if (skip)
			continue;
		if (*n == max) {
			*why = "too many attributes";
			return -EINVAL;
		}
		out[(*n)++] = a;
	}
	return 0;
}

const char *otel_service_name_env(const char *(*env)(const char *))
{
	static char name[256];
	const char *v = env("OTEL_SERVICE_NAME"), *p;
	if (v && *v)
		return v;
	/* service.name=... in OTEL_RESOURCE_ATTRIBUTES (key=value,..., values percent-encoded) */
	for (p = env("OTEL_RESOURCE_ATTRIBUTES"); p && *p;) {
		const char *e = p + strcspn(p, ","), *b = p, *t = e;
		trim(&b, &t);
		if ((size_t)(t - b) > 13 && !strncmp(b, "service.name", 12)) {
			const char *q = b + 12;
			while (q < t && (*q == ' ' || *q == '\t'))
				q++;
			if (q < t && *q == '=') {
				size_t n = 0;
				for (q++; q < t && (*q == ' ' || *q == '\t'); q++)
					;
				for (; q < t && n + 1 < sizeof(name); q++) {
					if (*q == '%' && t - q >= 3 && hexval(q[1]) >= 0 &&
					    hexval(q[2]) >= 0) {
						name[n++] = (char)(hexval(q[1]) << 4 | hexval(q[2]));
						q += 2;
					} else {
						name[n++] = *q;
					}
				}
				name[n] = '\0';
				return n ? name : NULL;
			}
		}
		p = *e ? e + 1 : e;
	}
	return NULL;
}
