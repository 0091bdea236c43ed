// SPDX-License-Identifier: GPL-2.0
/* sk_skb verdict on pod_socks, loaded only where the kernel has the sockmap FIONREAD regression
 * (kernel commit 929e30f93125, seen on 6.18.44): there a socket that is in a sockhash with no
 * verdict program reports ioctl(FIONREAD) = 0 with data queued, and programs that size their
 * reads by it (nginx's upstream reads) stall. With a verdict attached, received data is queued
 * where FIONREAD counts it. It passes every skb: nothing is read, dropped or redirected. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("sk_skb") /* attached as BPF_SK_SKB_VERDICT (libbpf 1.1 has no section name for it) */
int obsbpf_skb_pass(struct __sk_buff *skb)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
