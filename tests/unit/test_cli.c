/* Command-line table, listen addresses, /proc/PID/cgroup parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "cli/options.h"
#include "http/server.h"
#include "pod/pod.h"

static void test_defaults_and_values(void **state)
{
	(void)state;
	struct obsbpf_config c = { 0 };
	char *argv[] = { "attach", "--pod", "web", "-n", "shop", "--max-routes", "32", "-v", NULL };
	assert_int_equal(options_parse(&c, CMD_ATTACH, "attach", 8, argv), 0);
	assert_string_equal(c.pod, "web");
	assert_string_equal(c.namespace_, "shop");
	assert_string_equal(c.listen, "0.0.0.0:9102");
	assert_int_equal(c.max_routes, 32);
	assert_int_equal(c.http_idle_timeout, 30);
	assert_true(c.verbose);
	assert_null(c.cgroup);
}

static void test_bad_options(void **state)
{
	(void)state;
	struct obsbpf_config c = { 0 };
	char *a1[] = { "attach", "--nope", NULL };
	assert_int_equal(options_parse(&c, CMD_ATTACH, "attach", 2, a1), -1);
	char *a2[] = { "attach", "--max-routes", "-3", NULL };
	assert_int_equal(options_parse(&c, CMD_ATTACH, "attach", 3, a2), -1);
	char *a3[] = { "attach", "--pod", NULL };
	assert_int_equal(options_parse(&c, CMD_ATTACH, "attach", 2, a3), -1);
	char *a4[] = { "probe", "--pod", "x", NULL }; /* not a probe option */
	assert_int_equal(options_parse(&c, CMD_PROBE, "probe", 3, a4), -1);
	char *a5[] = { "attach", "extra", NULL };
	assert_int_equal(options_parse(&c, CMD_ATTACH, "attach", 2, a5), -1);
}

static void test_listen_addr(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	unsigned len;
	assert_int_equal(parse_listen_addr("0.0.0.0:9102", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9102);
	assert_int_equal(parse_listen_addr(":80", &ss, &len), 0);
	assert_int_equal(parse_listen_addr("[::1]:9102", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(parse_listen_addr("nowhere", &ss, &len), -EINVAL);
	assert_int_equal(parse_listen_addr("1.2.3.4:0", &ss, &len), -EINVAL);
	assert_int_equal(parse_listen_addr("1.2.3.4:70000", &ss, &len), -EINVAL);
	assert_int_equal(parse_listen_addr("host:80", &ss, &len), -EINVAL);
	assert_int_equal(parse_listen_addr("[::1:80", &ss, &len), -EINVAL);
}

static void test_proc_cgroup(void **state)
{
	(void)state;
	char out[256];
	assert_int_equal(parse_proc_cgroup("12:pids:/x\n0::/kubepods/pod1/ctr\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/kubepods/pod1/ctr");
	assert_int_equal(parse_proc_cgroup("0::/\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(parse_proc_cgroup("4:memory:/a\n", out, sizeof(out)), -ENOENT);
	assert_int_equal(parse_proc_cgroup("0::/very/long/path\n", out, 5), -ENAMETOOLONG);
}

static void test_pod_cgroup_trim(void **state)
{
	(void)state;
	char p1[] = "/kubepods/burstable/pod1234/abcdef";
	pod_cgroup_trim(p1);
	assert_string_equal(p1, "/kubepods/burstable/pod1234");
	char p2[] = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_34.slice/cri-containerd-ab.scope";
	pod_cgroup_trim(p2);
	assert_string_equal(p2, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_34.slice");
	char p3[] = "/system.slice/app.service";
	pod_cgroup_trim(p3);
	assert_string_equal(p3, "/system.slice/app.service");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_values),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_listen_addr),
		cmocka_unit_test(test_proc_cgroup),
		cmocka_unit_test(test_pod_cgroup_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
