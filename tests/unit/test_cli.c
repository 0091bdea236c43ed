// SPDX-License-Identifier: GPL-2.0
/* Command-line table, the --config file, listen addresses, /proc/PID/cgroup parsing. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
	char p2[] =
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_34.slice/cri-containerd-ab.scope";
	pod_cgroup_trim(p2);
	assert_string_equal(p2, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_34.slice");
	char p3[] = "/system.slice/app.service";
	pod_cgroup_trim(p3);
	assert_string_equal(p3, "/system.slice/app.service");
}

/* --- the --config file ------------------------------------------------------------------------ */

static char conf_path[64];
static char err_text[1024];

static const char *write_conf(const char *text)
{
	strcpy(conf_path, "/tmp/obsbpf-test-conf.XXXXXX");
	int fd = mkstemp(conf_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return conf_path;
}

/* options_parse with stderr captured into err_text (the one-line error a user sees). */
static int parse_capture(struct obsbpf_config *c, unsigned cmd, const char *cmdname, int argc, char **argv)
{
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	int saved = dup(2);
	dup2(fileno(tmp), 2);
	int rc = options_parse(c, cmd, cmdname, argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(err_text, 1, sizeof(err_text) - 1, tmp);
	err_text[n] = '\0';
	fclose(tmp);
	return rc;
}

static void test_config_file(void **state)
{
	(void)state;
	const char *path = write_conf("# obsbpf.conf\n"
				      "listen = 127.0.0.1:9999   # a trailing comment\n"
				      "\n"
				      "  max-routes=12\n"
				      "label = team=web, tier = front\n"
				      "label = zone=a\n"
				      "cri-logs = \"\"\n"
				      "verbose\n"
				      "forward-shared-key = s3cr#t\n"
				      "app-health = \" http://x/h \"\n");
	struct obsbpf_config c = { 0 };
	char *argv[] = { "attach", "--config", (char *)path, NULL };
	assert_int_equal(options_parse(&c, CMD_ATTACH, "attach", 3, argv), 0);
	assert_string_equal(c.config, path);
	assert_string_equal(c.listen, "127.0.0.1:9999");
	assert_int_equal(c.max_routes, 12);
	assert_int_equal(c.labels.n, 3);
	assert_string_equal(c.labels.v[0], "team=web");
	assert_string_equal(c.labels.v[1], "tier = front");
	assert_string_equal(c.labels.v[2], "zone=a");
	assert_string_equal(c.cri_logs, "");
	assert_true(c.verbose);
	assert_string_equal(c.forward_shared_key, "s3cr#t"); /* '#' inside a value is no comment */
	assert_string_equal(c.app_health, " http://x/h ");
	assert_int_equal(c.http_idle_timeout, 30); /* untouched: the default */
	assert_null(c.namespace_); /* no default in the table: attach and logs use "default", daemon none */

	/* The command line wins, a list given there replaces the file's, and `verbose = no` turns
	 * off a flag. */
	unlink(conf_path);
	path = write_conf("listen = 127.0.0.1:9999\nmax-routes = 12\nlabel = a=1,b=2\nverbose = no\n");
	char *argv2[] = { "attach", "--max-routes", "64", "--config", (char *)path, "--label", "c=3", NULL };
	assert_int_equal(options_parse(&c, CMD_ATTACH, "attach", 7, argv2), 0);
	assert_int_equal(c.max_routes, 64);
	assert_string_equal(c.listen, "127.0.0.1:9999");
	assert_int_equal(c.labels.n, 1);
	assert_string_equal(c.labels.v[0], "c=3");
	assert_false(c.verbose);
	options_free(&c);
	unlink(conf_path);
}

static void test_config_env_and_commands(void **state)
{
	(void)state;
	const char *path = write_conf("logs-tag = app.web\n");
	setenv("OBSBPF_CONFIG", path, 1);
	struct obsbpf_config c = { 0 };
	char *argv[] = { "logs", NULL };
	assert_int_equal(options_parse(&c, CMD_LOGS, "logs", 1, argv), 0);
	assert_string_equal(c.logs_tag, "app.web");
	/* --config "" means no file, whatever the environment says. */
	char *argv2[] = { "logs", "--config", "", NULL };
	assert_int_equal(options_parse(&c, CMD_LOGS, "logs", 3, argv2), 0);
	assert_string_equal(c.logs_tag, "obsbpf.logs");
	unsetenv("OBSBPF_CONFIG");
	options_free(&c);
	unlink(conf_path);

	/* A setting the command does not implement is an error naming it and who takes it, never
	 * skipped: in the file and on the command line. */
	path = write_conf("logs-tag = app.web\nmax-routes = 12\n");
	char *argv3[] = { "logs", "--config", (char *)path, NULL };
	assert_int_equal(parse_capture(&c, CMD_LOGS, "logs", 3, argv3), -1);
	char want[256];
	snprintf(want, sizeof(want),
		 "obsbpf logs: %s:2: 'max-routes' is not an option of logs (attach, daemon take it)\n", path);
	assert_string_equal(err_text, want);
	options_free(&c);
	unlink(conf_path);
	path = write_conf("# the DaemonSet's ConfigMap\nlogs = /var/log/app/*.log\n");
	char *argv4[] = { "daemon", "--config", (char *)path, NULL };
	assert_int_equal(parse_capture(&c, CMD_DAEMON, "daemon", 3, argv4), -1);
	snprintf(want, sizeof(want),
		 "obsbpf daemon: %s:2: 'logs' is not an option of daemon (attach, logs take it)\n", path);
	assert_string_equal(err_text, want);
	options_free(&c);
	unlink(conf_path);
	char *argv5[] = { "daemon", "--pod", "web", NULL };
	assert_int_equal(parse_capture(&c, CMD_DAEMON, "daemon", 3, argv5), -1);
	assert_string_equal(
		err_text,
		"obsbpf daemon: '--pod' is not an option of daemon (attach, logs, observe take it)\n");
	char *argv6[] = { "daemon", "--service-name=x", NULL };
	assert_int_equal(parse_capture(&c, CMD_DAEMON, "daemon", 2, argv6), -1);
	assert_string_equal(
		err_text, "obsbpf daemon: '--service-name=x' is not an option of daemon (attach takes it)\n");
	char *argv7[] = { "status", "-p", "web", NULL };
	assert_int_equal(parse_capture(&c, CMD_STATUS, "status", 3, argv7), -1);
	assert_string_equal(
		err_text, "obsbpf status: '-p' is not an option of status (attach, logs, observe take it)\n");

	/* What the daemon takes per node: span export, log forwarding, app metrics, limits. */
	path = write_conf(
		"otlp-endpoint = http://collector:4318\nforward = fluent-bit:24224\n"
		"app-metrics-rule = shop/web-* metrics=9090/stats interval=30\n"
		"app-metrics-rule = kube-system/* metrics=off\napp-health = http://localhost:8080/healthz\n"
		"pushgateway = http://pgw:9091\nlabel = team=a\nmax-h2-connections = 9\n"
		"cri-logs = /var/log/containers\npod-logs = /var/log/pods\nnamespace = shop\n");
	char *argv8[] = { "daemon", "--config", (char *)path, NULL };
	assert_int_equal(options_parse(&c, CMD_DAEMON, "daemon", 3, argv8), 0);
	assert_string_equal(c.otlp_endpoint, "http://collector:4318");
	assert_string_equal(c.forward, "fluent-bit:24224");
	assert_int_equal(c.app_metrics_rules.n, 2);
	assert_string_equal(c.app_metrics_rules.v[0], "shop/web-* metrics=9090/stats interval=30");
	assert_string_equal(c.pushgateway, "http://pgw:9091");
	assert_int_equal(c.max_h2_conns, 9);
	assert_string_equal(c.pod_logs, "/var/log/pods");
	assert_string_equal(c.namespace_, "shop");
	options_free(&c);
	unlink(conf_path);
}

static void expect_conf_error(const char *text, const char *want)
{
	const char *path = write_conf(text);
	struct obsbpf_config c = { 0 };
	char *argv[] = { "attach", "--config", (char *)path, NULL };
	assert_int_equal(parse_capture(&c, CMD_ATTACH, "attach", 3, argv), -1);
	char line[256];
	snprintf(line, sizeof(line), "obsbpf attach: %s:%s\n", path, want);
	assert_string_equal(err_text, line);
	options_free(&c);
	unlink(conf_path);
}

static void test_config_errors(void **state)
{
	(void)state;
	expect_conf_error("# ok\nlisen = 1.2.3.4:1\n", "2: unknown option 'lisen'");
	expect_conf_error("\n\nmax-routes = lots\n", "3: max-routes: 'lots' is not a whole number");
	expect_conf_error("max-routes = -1\n", "1: max-routes: '-1' is not a whole number");
	expect_conf_error("listen =\n", "1: listen: missing value (write \"\" for an empty one)");
	expect_conf_error("pod\n", "1: pod: missing value (write \"\" for an empty one)");
	expect_conf_error("verbose = maybe\n", "1: verbose: 'maybe' is not true or false");
	expect_conf_error("config = other.conf\n", "1: 'config' cannot be set in a config file");
	expect_conf_error("help\n", "1: 'help' cannot be set in a config file");
	expect_conf_error("--listen 1.2.3.4:1\n", "1: expected 'name = value', got '--listen 1.2.3.4:1'");
	expect_conf_error("label = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n", "1: label: at most 16 values");

	struct obsbpf_config c = { 0 };
	char *argv[] = { "attach", "--config", "/nonexistent/obsbpf.conf", NULL };
	assert_int_equal(parse_capture(&c, CMD_ATTACH, "attach", 3, argv), -1);
	assert_string_equal(err_text,
			    "obsbpf attach: --config /nonexistent/obsbpf.conf: No such file or directory\n");
	char *argv2[] = { "attach", "--config", "/tmp", NULL };
	assert_int_equal(parse_capture(&c, CMD_ATTACH, "attach", 3, argv2), -1);
	assert_string_equal(err_text, "obsbpf attach: --config /tmp: Is a directory\n");
	options_free(&c);
}

/* The file is read into a buffer that grows with it: a small config keeps a small one (its text
 * lives as long as the agent), a file of exactly 1 MiB is read whole, one byte more is refused,
 * and so is a NUL anywhere, even past the first read. */
static void test_config_size(void **state)
{
	(void)state;
	const char *path = write_conf("max-routes = 12\n");
	struct obsbpf_config c = { 0 };
	char *argv[] = { "attach", "--config", (char *)path, NULL };
	assert_int_equal(options_parse(&c, CMD_ATTACH, "attach", 3, argv), 0);
	assert_int_equal(c.max_routes, 12);
	assert_true(malloc_usable_size(c.config_text) < 64 * 1024);
	options_free(&c);
	unlink(conf_path);

	const size_t mib = 1 << 20;
	char *text = malloc(mib + 2);
	assert_non_null(text);
	for (size_t i = 0; i < mib; i += 64)
		memcpy(text + i, "# .............................................................\n", 64);
	memcpy(text + mib - 64, "max-routes = 33 # the last line, ending at exactly 1 MiB ......\n", 64);
	text[mib] = '\0';
	path = write_conf(text);
	assert_int_equal(options_parse(&c, CMD_ATTACH, "attach", 3, argv), 0);
	assert_int_equal(c.max_routes, 33);
	options_free(&c);
	unlink(conf_path);

	strcpy(text + mib, "\n");
	path = write_conf(text);
	assert_int_equal(parse_capture(&c, CMD_ATTACH, "attach", 3, argv), -1);
	char want[256];
	snprintf(want, sizeof(want), "obsbpf attach: --config %s: larger than 1 MiB\n", path);
	assert_string_equal(err_text, want);
	options_free(&c);
	unlink(conf_path);

	path = write_conf("max-routes = 12\n");
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, 5000), 5000);
	assert_int_equal(write(fd, "\0\n", 2), 2);
	close(fd);
	assert_int_equal(parse_capture(&c, CMD_ATTACH, "attach", 3, argv), -1);
	snprintf(want, sizeof(want), "obsbpf attach: --config %s: not a text file\n", path);
	assert_string_equal(err_text, want);
	options_free(&c);
	unlink(conf_path);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_values),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_listen_addr),
		cmocka_unit_test(test_proc_cgroup),
		cmocka_unit_test(test_pod_cgroup_trim),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_config_env_and_commands),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
