// SPDX-License-Identifier: GPL-2.0
/* `make bench` (tests/bench/trace.sh): what the sk_msg hook costs by itself, the floor under
 * any in-kernel header injection. sockops puts a cgroup's client sockets into a sockhash; its
 * sk_msg program either passes every send untouched (floor_pass) or inserts a fixed traceparent
 * after the request line the way obsbpf does, bpf_msg_push_data + bpf_msg_pull_data
 * (floor_insert). Nothing is parsed beyond the first line, timed, counted or exported. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define SK_PASS	 1
#define LINE_MAX 256 /* a request line longer than this gets no header */
#define HDR	 "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
#define HDR_LEN	 (sizeof(HDR) - 1)

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} floor_socks SEC(".maps");

SEC("sockops")
int floor_sockops(struct bpf_sock_ops *ops)
{
	if (ops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB) {
		__u64 cookie = bpf_get_socket_cookie(ops);
		bpf_sock_hash_update(ops, &floor_socks, &cookie, BPF_NOEXIST);
	}
	return 1;
}

SEC("sk_msg")
int floor_pass(struct sk_msg_md *msg)
{
	return SK_PASS;
}

SEC("sk_msg")
int floor_insert(struct sk_msg_md *msg)
{
	__u8 *d = (void *)(long)msg->data;
	__u8 *end = (void *)(long)msg->data_end;
	__u32 size = msg->size, at = 0;

	for (__u32 i = 0; i < LINE_MAX; i++) {
		if (d + i + 1 > end)
			return SK_PASS;
		if (d[i] == '\n') {
			at = i + 1;
			break;
		}
	}
	if (!at || at > LINE_MAX)
		return SK_PASS;
	if (bpf_msg_push_data(msg, at, HDR_LEN, 0))
		return SK_PASS;
	/* As obsbpf: the push leaves three pieces that a TCP_NODELAY sender sends as three
	 * segments; the pull makes them one. */
	if (bpf_msg_pull_data(msg, 0, size + HDR_LEN, 0))
		return SK_PASS;
	d = (void *)(long)msg->data;
	end = (void *)(long)msg->data_end;
	if (d + at + HDR_LEN > end)
		return SK_PASS;
	__builtin_memcpy(d + at, HDR, HDR_LEN);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
