// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cases.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <obsbpf/http_parse.h>

struct bpfut fx;
bool fx_loaded;
struct bpfut_pair pr = { .client = -1, .server = -1 }, pr6 = { .client = -1, .server = -1 };

int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "bpf-unit: not root: every case skips\n");
		return 0;
	}
	int err = bpfut_open(&fx);
	if (err) {
		fprintf(stderr, "bpf-unit: load the object and make the scratch cgroup: %s\n",
			strerror(-err));
		return -1;
	}
	fx_loaded = true;
	return 0;
}

int group_teardown(void **state)
{
	(void)state;
	if (fx_loaded)
		bpfut_close(&fx);
	fx_loaded = false;
	return 0;
}

int case_open(const char *inject_to)
{
	pr.client = pr.server = pr6.client = pr6.server = -1;
	if (!fx_loaded)
		return 0;
	int err = bpfut_reset(&fx);
	if (!err && inject_to)
		err = bpfut_allow_inject(&fx, inject_to);
	if (!err)
		err = bpfut_pair_open(&fx, &pr, AF_INET);
	if (err)
		fprintf(stderr, "bpf-unit: connection: %s\n", strerror(-err));
	return err ? -1 : 0;
}

int case_setup(void **state)
{
	(void)state;
	return case_open(NULL);
}

int case_teardown(void **state)
{
	(void)state;
	bpfut_pair_close(&pr);
	bpfut_pair_close(&pr6);
	return 0;
}

struct obsbpf_conn conn_of(int fd)
{
	struct obsbpf_conn c;
	assert_int_equal(bpfut_conn_get(&fx, fd, &c), 0);
	return c;
}

uint32_t route_of(const char *req)
{
	const char *path = strchr(req, ' ');
	assert_non_null(path);
	return obsbpf_route_hash_host((const __u8 *)req, (__u32)strlen(req), (__u32)(path + 1 - req));
}

void assert_route(uint32_t id, const char *raw)
{
	char got[OBSBPF_ROUTE_LEN + 1];
	assert_int_equal(bpfut_route(&fx, id, got, sizeof(got)), 0);
	assert_string_equal(got, raw);
}

void to_server(uint32_t off, const char *payload)
{
	assert_int_equal(bpfut_ingress(&fx, &pr.caddr, &pr.saddr, pr.c2s_seq + off, payload, strlen(payload)),
			 0);
}

void to_client(uint32_t off, const char *payload)
{
	assert_int_equal(bpfut_ingress(&fx, &pr.saddr, &pr.caddr, pr.s2c_seq + off, payload, strlen(payload)),
			 0);
}
