// SPDX-License-Identifier: GPL-2.0
/* sockpin: a sockhash pinned in bpffs is freed only when empty and only when the agent that
 * pinned it no longer runs. Real maps and real sockets in a scratch bpffs directory (root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/sockpin.h"

static char dir[64];

static int new_sockhash(void)
{
	return bpf_map_create(BPF_MAP_TYPE_SOCKHASH, NULL, sizeof(uint64_t), sizeof(uint64_t), 16, NULL);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/obsbpf-unit-XXXXXX");
	int fd = geteuid() == 0 ? new_sockhash() : -1;
	if (fd < 0 || !mkdtemp(dir))
		return 0; /* the tests skip */
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return access(dir, F_OK) == 0 ? system(cmd) : 0;
}

static bool exists(const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/* An established loopback TCP pair: sockets a sockhash takes. */
static void tcp_pair(int *c, int *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*c, (struct sockaddr *)&a, sizeof(a)), 0);
	*s = accept(l, NULL, NULL);
	assert_true(*s >= 0);
	close(l);
}

static void test_own_pin(void **state)
{
	(void)state;
	if (access(dir, F_OK) != 0)
		skip();
	int fd = new_sockhash();
	char path[256];
	assert_int_equal(sockpin_pin(fd, dir, path, sizeof(path)), 0);
	char want[64];
	snprintf(want, sizeof(want), "socks_%d_", (int)getpid());
	assert_non_null(strstr(path, want));
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(map_count_keys(fd), 0);
	int maps = -1;
	assert_int_equal(sockpin_reap(dir, &maps), 0); /* its agent runs: kept, though empty */
	assert_int_equal(maps, 0);
	assert_int_equal(access(path, F_OK), 0);

	int c, s;
	tcp_pair(&c, &s);
	uint64_t key = 1, sock = (uint64_t)c; /* the value is the socket's fd, as wide as the map's */
	assert_int_equal(bpf_map_update_elem(fd, &key, &sock, BPF_ANY), 0);
	assert_int_equal(map_count_keys(fd), 1);
	assert_int_equal(sockpin_release(fd, path), 1); /* a live connection: stays pinned */
	assert_int_equal(access(path, F_OK), 0);
	close(c);
	close(s);
	/* A socket leaves the sockhash as it closes. */
	for (int i = 0; i < 100 && map_count_keys(fd) > 0; i++)
		usleep(10000);
	assert_int_equal(sockpin_release(fd, path), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	close(fd);
}

static void test_reap_dead_agents(void **state)
{
	(void)state;
	if (access(dir, F_OK) != 0)
		skip();
	/* Pins of an agent that does not run (pid 1 with a start time it does not have). */
	char empty[256], busy[256], other[256];
	snprintf(empty, sizeof(empty), "%s/socks_1_424242", dir);
	snprintf(busy, sizeof(busy), "%s/socks_1_424243", dir);
	snprintf(other, sizeof(other), "%s/not_ours", dir);
	int e = new_sockhash(), b = new_sockhash(), o = new_sockhash();
	assert_int_equal(bpf_obj_pin(e, empty), 0);
	assert_int_equal(bpf_obj_pin(b, busy), 0);
	assert_int_equal(bpf_obj_pin(o, other), 0);
	int c, s;
	tcp_pair(&c, &s);
	uint64_t key = 7, sock = (uint64_t)c;
	assert_int_equal(bpf_map_update_elem(b, &key, &sock, BPF_ANY), 0);

	int maps = -1;
	assert_int_equal(sockpin_reap(dir, &maps), 1); /* one socket, in one kept map */
	assert_int_equal(maps, 1);
	assert_false(exists("socks_1_424242"));
	assert_true(exists("socks_1_424243"));
	assert_true(exists("not_ours"));

	close(c);
	close(s);
	for (int i = 0; i < 100 && map_count_keys(b) > 0; i++)
		usleep(10000);
	assert_int_equal(sockpin_reap(dir, &maps), 0);
	assert_int_equal(maps, 0);
	assert_false(exists("socks_1_424243"));
	assert_true(exists("not_ours"));
	close(e);
	close(b);
	close(o);
}

static void test_no_bpffs(void **state)
{
	(void)state;
	if (access(dir, F_OK) != 0)
		skip();
	int fd = new_sockhash();
	char path[256];
	/* /tmp is not bpffs: pinning fails with an errno, nothing half made. */
	char tmp[] = "/tmp/obsbpf-unit-pin-XXXXXX";
	assert_non_null(mkdtemp(tmp));
	assert_true(sockpin_pin(fd, tmp, path, sizeof(path)) < 0);
	assert_int_equal(rmdir(tmp), 0); /* empty */
	assert_int_equal(sockpin_reap("/nonexistent/obsbpf", NULL), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_pin),
		cmocka_unit_test(test_reap_dead_agents),
		cmocka_unit_test(test_no_bpffs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
