// SPDX-License-Identifier: GPL-2.0
/* `make bench` (tests/bench/tls.sh): what the uprobes cost by themselves, the floor under any
 * reading of TLS plaintext at the library: entry and return probes on SSL_read/SSL_write (and
 * the _ex forms) that do nothing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("uprobe")
int floor_entry(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_ret(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
