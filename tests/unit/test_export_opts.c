// SPDX-License-Identifier: GPL-2.0
/* The exporter's options (trace/export_opts.c): headers from the OTel variables and
 * --otlp-header merged by name with the flag winning, percent-decoding, what is refused;
 * compression and TLS files from flags or variables; the gzip body inflating back. */
#include "config.h"
#include "trace/internal.h"
#include "trace/trace.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <unistd.h>
#include <zlib.h>

/* The test's environment: NAME=VALUE pairs. */
static const char *env_v[16][2];

static const char *env(const char *name)
{
	for (int i = 0; i < 16 && env_v[i][0]; i++)
		if (!strcmp(env_v[i][0], name))
			return env_v[i][1];
	return NULL;
}

static void env_set(const char *name, const char *v)
{
	int i = 0;
	while (env_v[i][0])
		i++;
	env_v[i][0] = name, env_v[i][1] = v;
}

static int setup(void **state)
{
	(void)state;
	memset(env_v, 0, sizeof(env_v));
	return 0;
}

static const char *header(const struct otlp_export_opts *o, const char *name)
{
	for (unsigned i = 0; i < o->nheaders; i++)
		if (!strcmp(o->headers[i].name, name))
			return o->headers[i].value;
	return NULL;
}

static struct otlp_export_opts o;

static void test_headers_merge(void **state)
{
	(void)state;
	struct obsbpf_config cfg = { 0 };
	env_set("OTEL_EXPORTER_OTLP_HEADERS", "api-key=generic, X-Tenant = a%20b%2Cc ,only-generic=1");
	env_set("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=traces");
	cfg.otlp_headers.v[cfg.otlp_headers.n++] = "X-Tenant=flag=with=equals";
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, false, env), 0);
	assert_int_equal(o.nheaders, 3);
	assert_string_equal(header(&o, "api-key"), "traces");
	/* flag values are taken as typed (no percent-decoding), names lower-cased */
	assert_string_equal(header(&o, "x-tenant"), "flag=with=equals");
	assert_string_equal(header(&o, "only-generic"), "1");
	assert_false(o.gzip);
	assert_false(o.tls);
}

static void test_headers_percent(void **state)
{
	(void)state;
	struct obsbpf_config cfg = { 0 };
	env_set("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Basic%20dXNlcjpwYXNz,,empty=");
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, false, env), 0);
	assert_string_equal(header(&o, "authorization"), "Basic dXNlcjpwYXNz");
	assert_string_equal(header(&o, "empty"), "");
}

static void refused(const char *envval, const char *flag)
{
	struct obsbpf_config cfg = { 0 };
	memset(env_v, 0, sizeof(env_v));
	if (envval)
		env_set("OTEL_EXPORTER_OTLP_HEADERS", envval);
	if (flag)
		cfg.otlp_headers.v[cfg.otlp_headers.n++] = flag;
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, false, env), -EINVAL);
}

static void test_headers_refused(void **state)
{
	(void)state;
	refused("novalue", NULL);
	refused("=v", NULL);
	refused("bad name=v", NULL);
	refused("x=a%0Db", NULL); /* CR after decoding: a header injection */
	refused(NULL, "x=a\nb");
	refused(NULL, "Content-Type=text/plain");
	refused(NULL, "content-encoding=br");
	refused(NULL, "host=elsewhere");
	refused(NULL, "user-agent=me");
	refused(NULL, "grpc-timeout=1S");
	refused(NULL, ":path=/x");
}

static void test_compression(void **state)
{
	(void)state;
	struct obsbpf_config cfg = { 0 };
	env_set("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, false, env), 0);
	assert_true(o.gzip);
	env_set("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"); /* per signal wins */
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, false, env), 0);
	assert_false(o.gzip);
	cfg.otlp_compression = "gzip"; /* the flag wins */
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, false, env), 0);
	assert_true(o.gzip);
	cfg.otlp_compression = "zstd";
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, false, env), -EINVAL);
}

static void test_tls_files(void **state)
{
	(void)state;
	struct obsbpf_config cfg = { 0 };
	char ca[] = "/tmp/obsbpf-test-ca.XXXXXX";
	int fd = mkstemp(ca);
	assert_true(fd >= 0);
	close(fd);
	env_set("OTEL_EXPORTER_OTLP_CERTIFICATE", ca);
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, true, env), 0);
	assert_true(o.tls);
	assert_string_equal(o.ca_file, ca);
	/* the variable does not apply to a plain http:// endpoint; the flag is a mistake there */
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, false, env), 0);
	assert_null(o.ca_file);
	cfg.otlp_ca_file = ca;
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, false, env), -EINVAL);
	cfg.otlp_ca_file = NULL;
	/* a certificate without its key, and a file that is not there */
	cfg.otlp_client_cert = ca;
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, true, env), -EINVAL);
	cfg.otlp_client_key = "/nonexistent/key.pem";
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, true, env), -EINVAL);
	cfg.otlp_client_key = ca;
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, true, env), 0);
	assert_string_equal(o.client_cert, ca);
	cfg.otlp_ca_file = "/nonexistent/ca.pem"; /* the flag wins over the variable */
	assert_int_equal(otlp_export_opts_resolve(&o, &cfg, true, env), -EINVAL);
	unlink(ca);
}

static void test_gzip_roundtrip(void **state)
{
	(void)state;
	struct otlp_gzip g = { 0 };
	uint8_t in[5000], back[6000];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i % 7 * 31);
	for (int round = 0; round < 2; round++) { /* the state is reset and reused */
		const uint8_t *out;
		size_t len;
		assert_int_equal(otlp_gzip(&g, in, sizeof(in) - (size_t)round, &out, &len), 0);
		assert_true(len < sizeof(in) / 4);
		assert_int_equal(out[0], 0x1f); /* gzip magic */
		assert_int_equal(out[1], 0x8b);
		z_stream z = { 0 };
		assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
		z.next_in = (Bytef *)out, z.avail_in = (uInt)len;
		z.next_out = back, z.avail_out = sizeof(back);
		assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
		assert_int_equal(z.total_out, sizeof(in) - (size_t)round);
		assert_memory_equal(back, in, sizeof(in) - (size_t)round);
		inflateEnd(&z);
	}
	otlp_gzip_free(&g);
}

static void test_service_name(void **state)
{
	(void)state;
	assert_null(otel_service_name_env(env));
	env_set("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod, service.name = check%20out ,x=y");
	assert_string_equal(otel_service_name_env(env), "check out");
	env_set("OTEL_SERVICE_NAME", "cart"); /* wins over the attribute */
	assert_string_equal(otel_service_name_env(env), "cart");
	memset(env_v, 0, sizeof(env_v));
	env_set("OTEL_RESOURCE_ATTRIBUTES", "service.namespace=shop,service.name=");
	assert_null(otel_service_name_env(env));
}

static void test_resource_attrs(void **state)
{
	(void)state;
	struct otlp_attr a[4];
	size_t n;
	const char *why = NULL;
	assert_int_equal(otel_resource_attrs_parse(NULL, a, 4, &n, &why), 0);
	assert_int_equal(n, 0);
	assert_int_equal(otel_resource_attrs_parse(" k8s.cluster.name = prod%2Deu ,service.name=x,"
						   "k8s.pod.name=y,telemetry.sdk.name=z,"
						   "deployment.environment=a,,deployment.environment=b",
						   a, 4, &n, &why),
			 0);
	/* the agent's own keys left out, a repeated key's last value kept */
	assert_int_equal(n, 2);
	assert_string_equal(a[0].key, "k8s.cluster.name");
	assert_string_equal(a[0].value, "prod-eu");
	assert_string_equal(a[1].key, "deployment.environment");
	assert_string_equal(a[1].value, "b");
	assert_int_equal(otel_resource_attrs_parse("a=1,b", a, 4, &n, &why), -EINVAL);
	assert_string_equal(why, "expected key=value");
	assert_int_equal(otel_resource_attrs_parse("a=1,b=2,c=3,d=4,e=5", a, 4, &n, &why), -EINVAL);
	assert_string_equal(why, "too many attributes");
}

static void test_timeout(void **state)
{
	(void)state;
	unsigned ms;
	assert_int_equal(otlp_timeout_resolve(0, env, &ms), 0);
	assert_int_equal(ms, 10000);
	env_set("OTEL_EXPORTER_OTLP_TIMEOUT", "2500");
	assert_int_equal(otlp_timeout_resolve(0, env, &ms), 0);
	assert_int_equal(ms, 2500);
	env_set("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700");
	assert_int_equal(otlp_timeout_resolve(0, env, &ms), 0);
	assert_int_equal(ms, 700);
	assert_int_equal(otlp_timeout_resolve(300, env, &ms), 0); /* the flag wins */
	assert_int_equal(ms, 300);
	memset(env_v, 0, sizeof(env_v));
	env_set("OTEL_EXPORTER_OTLP_TIMEOUT", "10s");
	assert_int_equal(otlp_timeout_resolve(0, env, &ms), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_headers_merge, setup),
		cmocka_unit_test_setup(test_headers_percent, setup),
		cmocka_unit_test_setup(test_headers_refused, setup),
		cmocka_unit_test_setup(test_compression, setup),
		cmocka_unit_test_setup(test_tls_files, setup),
		cmocka_unit_test_setup(test_gzip_roundtrip, setup),
		cmocka_unit_test_setup(test_service_name, setup),
		cmocka_unit_test_setup(test_resource_attrs, setup),
		cmocka_unit_test_setup(test_timeout, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
