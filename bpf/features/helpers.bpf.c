// SPDX-License-Identifier: GPL-2.0
/* Feature probes: one small program per helper or hook that obsbpf uses only where the kernel
 * allows it, of the program type that calls it. Which helpers a program type may call differs
 * by kernel and the kernels' own lists disagree with what the verifier takes (task storage in
 * sk_msg: listed by bpftool on 6.12, refused by its verifier), so only a load tells. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} feat_task_map SEC(".maps");

/* sk_msg: bpf_task_storage_get (the thread -> served request binding). */
SEC("sk_msg")
int feat_msg_task_storage(struct sk_msg_md *msg)
{
	__u64 *v = bpf_task_storage_get(&feat_task_map, bpf_get_current_task_btf(), 0, 0);
	return v ? SK_PASS : SK_PASS;
}

/* tc: bpf_get_current_pid_tgid (the sending thread of a response). */
SEC("tc")
int feat_tc_pid_tgid(struct __sk_buff *skb)
{
	return bpf_get_current_pid_tgid() ? 0 : 0;
}

/* fexit on tcp_recvmsg: in-process propagation where tp_btf/sock_recv_length is missing. */
SEC("fexit/tcp_recvmsg")
int BPF_PROG(feat_fexit_recvmsg, struct sock *sk, struct msghdr *msg, size_t len, int flags, int *addr_len,
	     int ret)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
