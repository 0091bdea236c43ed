// SPDX-License-Identifier: GPL-2.0
/* The exporter's destination, resolved like the OpenTelemetry SDKs do: a base endpoint gets
 * the signal path /v1/traces appended (OTEL_EXPORTER_OTLP_ENDPOINT); a per-signal endpoint
 * (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is used as is; gRPC takes scheme://host:port only.
 * https:// means TLS for both. */
#include "internal.h"
#include "util/log.h"
#include "util/hostport.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int bad(const char *what, const char *v, const char *why)
{
	log_error("trace", "%s %s: %s\n", what, v, why);
	return -EINVAL;
}

/* "http://host:port/..." or "host:port": host and port (default_port when absent). */
static int split_authority(struct otlp_target *t, const char *what, const char *v, const char *default_port)
{
	const char *a = v, *end;
	if (!strncmp(a, "https://", 8)) {
		t->tls = true;
		a += 8;
	} else if (!strncmp(a, "http://", 7)) {
		a += 7;
	}
	end = a + strcspn(a, "/");
	if (hostport_split(a, (size_t)(end - a), HP_PORT_OPTIONAL, t->host, sizeof(t->host), t->port,
			   sizeof(t->port)) < 0)
		return bad(what, v, "expected http://HOST:PORT or https://HOST:PORT");
	if (!t->port[0])
		snprintf(t->port, sizeof(t->port), "%s", default_port);
	return 0;
}

int otlp_target_resolve(struct otlp_target *t, const char *endpoint, const char *protocol,
			const char *env_traces_endpoint, const char *env_endpoint, const char *env_protocol)
{
	const char *what = "--otlp-endpoint", *v = endpoint;
	bool as_is = false;

	memset(t, 0, sizeof(*t));
	if (!protocol || !*protocol)
		protocol = env_protocol && *env_protocol ? env_protocol : "http/protobuf";
	if (!strcmp(protocol, "grpc"))
		t->grpc = true;
	else if (strcmp(protocol, "http/protobuf") && strcmp(protocol, "http"))
		return bad(protocol == env_protocol ? "OTEL_EXPORTER_OTLP_PROTOCOL" : "--otlp-protocol",
			   protocol, "expected grpc or http/protobuf");
	if (!v || !*v) {
		if (env_traces_endpoint && *env_traces_endpoint) {
			v = env_traces_endpoint;
			what = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
			as_is = true;
		} else if (env_endpoint && *env_endpoint) {
			v = env_endpoint;
			what = "OTEL_EXPORTER_OTLP_ENDPOINT";
		} else {
			return 0;
		}
	}
	if (t->grpc)
		return split_authority(t, what, v, "4317") < 0 ? -EINVAL : 1;
	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
		return bad(what, v, "expected an http:// or https:// URL");
	t->tls = !strncmp(v, "https://", 8);
	size_t n = strlen(v);
	if (!as_is)
		while (n && v[n - 1] == '/')
			n--;
	if (n + sizeof("/v1/traces") > sizeof(t->url))
		return bad(what, v, "URL too long");
	snprintf(t->url, sizeof(t->url), "%.*s%s", (int)n, v, as_is ? "" : "/v1/traces");
	return 1;
}
