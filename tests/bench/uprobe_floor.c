// SPDX-License-Identifier: GPL-2.0
/* uprobe_floor LIBSSL: entry and return uprobes that do nothing on SSL_read, SSL_write,
 * SSL_read_ex and SSL_write_ex of the library file LIBSSL, for every process; prints "ready" and
 * holds until SIGINT or SIGTERM. The probes go when it exits. */
#include "uprobe_floor.skel.h"

#include <bpf/libbpf.h>
#include <errno.h>
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
	if (argc != 2) {
		fprintf(stderr, "usage: uprobe_floor LIBSSL\n");
		return 2;
	}
	struct uprobe_floor_bpf *s = uprobe_floor_bpf__open_and_load();
	if (!s) {
		fprintf(stderr, "uprobe_floor: load: %s\n", strerror(errno));
		return 1;
	}
	static const char *const fns[] = { "SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex" };
	struct bpf_link *links[8] = { 0 };
	int rc = 1;
	for (int i = 0; i < 8; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = fns[i / 2], .retprobe = i % 2);
		struct bpf_program *p = i % 2 ? s->progs.floor_ret : s->progs.floor_entry;
		links[i] = bpf_program__attach_uprobe_opts(p, -1, argv[1], 0, &o);
		if (!links[i]) {
			fprintf(stderr, "uprobe_floor: %s in %s: %s\n", fns[i / 2], argv[1], strerror(errno));
			goto out;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	rc = 0;
out:
	for (int i = 0; i < 8; i++)
		bpf_link__destroy(links[i]);
	uprobe_floor_bpf__destroy(s);
	return rc;
}
