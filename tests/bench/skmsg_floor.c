// SPDX-License-Identifier: GPL-2.0
/* skmsg_floor pass|insert CGROUP_DIR: loads skmsg_floor.bpf.c, puts the client sockets of the
 * cgroup's processes into its sockhash with the chosen sk_msg program, prints "ready" and holds
 * until SIGINT or SIGTERM. Nothing is pinned: the programs go when it exits. */
#include "skmsg_floor.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "pass") && strcmp(argv[1], "insert"))) {
		fprintf(stderr, "usage: skmsg_floor pass|insert CGROUP_DIR\n");
		return 2;
	}
	int cg = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (cg < 0) {
		fprintf(stderr, "skmsg_floor: cgroup %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	struct skmsg_floor_bpf *s = skmsg_floor_bpf__open_and_load();
	if (!s) {
		fprintf(stderr, "skmsg_floor: load: %s\n", strerror(errno));
		close(cg);
		return 1;
	}
	struct bpf_program *msg = strcmp(argv[1], "pass") ? s->progs.floor_insert : s->progs.floor_pass;
	struct bpf_link *link = NULL;
	int rc = 1;
	if (bpf_prog_attach(bpf_program__fd(msg), bpf_map__fd(s->maps.floor_socks), BPF_SK_MSG_VERDICT, 0)) {
		fprintf(stderr, "skmsg_floor: attach sk_msg: %s\n", strerror(errno));
		goto out;
	}
	link = bpf_program__attach_cgroup(s->progs.floor_sockops, cg);
	if (!link) {
		fprintf(stderr, "skmsg_floor: attach sockops to %s: %s\n", argv[2], strerror(errno));
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	rc = 0;
out:
	bpf_link__destroy(link);
	skmsg_floor_bpf__destroy(s);
	close(cg);
	return rc;
}
