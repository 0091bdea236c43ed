// SPDX-License-Identifier: GPL-2.0
/* The control socket server on a real unix socket and event loop: status answers, observe
 * filters by pod, a reader that does not read loses lines (counted) and never blocks the
 * agent, a stale socket file is replaced and a live one refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctl/ctl.h"
#include "loop/loop.h"
#include "util/strbuf.h"

static char dir[48], path[96];

static void status_fn(void *arg, struct strbuf *b)
{
	sb_printf(b, "{\"pods\":[],\"n\":%d}", *(int *)arg);
}

static int client(const char *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	return fd;
}

static void spin(struct loop *l, int turns)
{
	for (int i = 0; i < turns; i++)
		loop_run_once(l, 10);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/obsbpf-ctl-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/ctl.sock", dir); /* the server creates sub/ */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char sub[64];
	unlink(path);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	rmdir(sub);
	rmdir(dir);
	return 0;
}

static void test_status_and_observe(void **state)
{
	(void)state;
	int n = 7;
	struct loop *l = loop_new();
	struct ctl_server *s = ctl_server_start(l, path, status_fn, &n);
	assert_non_null(s);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	int fd = client("status\n");
	spin(l, 5);
	char buf[256] = "";
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	assert_true(r > 0);
	assert_string_equal(buf, "{\"pods\":[],\"n\":7}\n");
	assert_int_equal(read(fd, buf, sizeof(buf)), 0); /* closed after the answer */
	close(fd);

	int all = client("observe\n"), web = client("observe web-*\n");
	spin(l, 5);
	assert_int_equal(ctl_server_observers(s), 2);
	ctl_server_publish(s, "web-1", "{\"a\":1}", 7);
	ctl_server_publish(s, "api-1", "{\"b\":2}", 7);
	spin(l, 2);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read(all, buf, sizeof(buf) - 1), 16);
	assert_string_equal(buf, "{\"a\":1}\n{\"b\":2}\n");
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read(web, buf, sizeof(buf) - 1), 8);
	assert_string_equal(buf, "{\"a\":1}\n");
	close(web);
	spin(l, 5);
	assert_int_equal(ctl_server_observers(s), 1);

	/* A reader that never reads: the publisher never blocks, lines are dropped and counted. */
	char line[1000];
	memset(line, 'x', sizeof(line));
	for (int i = 0; i < 5000; i++)
		ctl_server_publish(s, "web-1", line, sizeof(line));
	assert_true(ctl_server_dropped(s) > 0);
	assert_true(ctl_server_dropped(s) < 5000);
	close(all);

	int bad = client("frobnicate\n");
	spin(l, 5);
	memset(buf, 0, sizeof(buf));
	assert_true(read(bad, buf, sizeof(buf) - 1) > 0);
	assert_non_null(strstr(buf, "\"error\""));
	close(bad);

	/* A live agent's socket is not taken over. */
	assert_null(ctl_server_start(l, path, status_fn, &n));
	ctl_server_stop(s);
	assert_int_equal(access(path, F_OK), -1); /* removed on stop */
	loop_free(l);
}

static void test_stale_socket_replaced(void **state)
{
	(void)state;
	int n = 1;
	struct loop *l = loop_new();
	/* A socket file nobody listens on, as a killed agent leaves it. */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char sub[64];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	mkdir(sub, 0700);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	struct ctl_server *s = ctl_server_start(l, path, status_fn, &n);
	assert_non_null(s);
	ctl_server_stop(s);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_and_observe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
