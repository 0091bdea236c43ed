/* SPDX-License-Identifier: GPL-2.0 */
/* What the cmocka cases of every BPF test file share: the fixture, opened once for the group; the
 * case's loopback connections, opened before it and closed after it even when it fails; skipping
 * when not root; and reading back a connection's state and a route. */
#ifndef OBSBPF_TESTS_BPF_CASES_H
#define OBSBPF_TESTS_BPF_CASES_H

#include "fixture.h"

#include <stdbool.h>
#include <stdint.h>

extern struct bpfut fx;	      /* the group's fixture */
extern bool fx_loaded;	      /* false when not root: every case skips */
extern struct bpfut_pair pr;  /* the case's IPv4 connection */
extern struct bpfut_pair pr6; /* one a case may open itself (IPv6); closed after it too */

/* cmocka group setup/teardown: load the object and make the scratch cgroup once. */
int group_setup(void **state);
int group_teardown(void **state);
/* Empties what the last case left and opens pr, with inject_to holding the CIDR inject_to (NULL:
 * empty) when sockops sees it established. Returns 0, or -1 for cmocka. */
int case_open(const char *inject_to);
int case_setup(void **state); /* case_open(NULL) */
int case_teardown(void **state);

#define NEED_ROOT()             \
	do {                    \
		if (!fx_loaded) \
			skip(); \
	} while (0)

/* tc ingress (BPF_PROG_RUN) on a segment of pr's payload at offset off of its stream: from the
 * client to the server end (a request), or back (a response). Asserts verdict 0 (TC_ACT_OK). */
void to_server(uint32_t off, const char *payload);
void to_client(uint32_t off, const char *payload);
/* The conn_state of the socket fd (asserted to be there). */
struct obsbpf_conn conn_of(int fd);
/* The route id the kernel must give the request line req: the host twin of its hash. */
uint32_t route_of(const char *req);
/* The routes map holds raw for id. */
void assert_route(uint32_t id, const char *raw);

#endif
