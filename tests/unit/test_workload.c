// SPDX-License-Identifier: GPL-2.0
/* service.name from a pod's name: the workload its controller named it after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pod/workload.h"

static void check(const char *pod, const char *want)
{
	char out[64];
	pod_workload_name(pod, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_workloads(void **state)
{
	(void)state;
	check("web-7d4b9c8f6d-x2x9q", "web"); /* Deployment: hash and suffix */
	check("nginx-deployment-66b6c48dd5-xfvzh", "nginx-deployment");
	check("coredns-5d78c9869d-8jz2m", "coredns");
	check("fluent-bit-x2x9q", "fluent-bit");       /* DaemonSet */
	check("node-exporter-xk2lp", "node-exporter"); /* "exporter" is no hash */
	check("postgres-0", "postgres");	       /* StatefulSet */
	check("kafka-broker-12", "kafka-broker");
	check("web", "web");		     /* a bare pod */
	check("my-app", "my-app");	     /* "app": not 5 random characters */
	check("batch-aeiou", "batch-aeiou"); /* vowels: not Kubernetes' alphabet */
	check("-0", "-0");		     /* nothing would be left */
	check("x2x9q", "x2x9q");
	check("api-bcdfg-x2x9q", "api-bcdfg"); /* a 5-character "hash" is too short */
}

static void test_cut(void **state)
{
	(void)state;
	char out[4];
	pod_workload_name("postgres-0", out, sizeof(out));
	assert_string_equal(out, "pos");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workloads),
		cmocka_unit_test(test_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
