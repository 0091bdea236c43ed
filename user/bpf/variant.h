/* SPDX-License-Identifier: GPL-2.0 */
/* Which variant of the BPF object this kernel gets: the hooks and helpers it offers decide
 * which programs load and which paths inside them the verifier sees (rodata switches). The one
 * place for kernel differences, shared by attach and probe. */
#ifndef OBSBPF_VARIANT_H
#define OBSBPF_VARIANT_H

#include <stdbool.h>
#include <stdio.h>

struct obsbpf_bpf;

struct kernel_variant {
	bool recv_tp;	       /* tp_btf/sock_recv_length (6.3+): the thread reading a request */
	bool recv_fexit;       /* else fexit on tcp_recvmsg, where the kernel allows it */
	bool msg_task_storage; /* sk_msg may call bpf_task_storage_get (not on 6.1 nor 6.12) */
	bool tc_pid_tgid;      /* tc may call bpf_get_current_pid_tgid (not on 6.1) */
	int fionread_hazard;   /* the sockmap FIONREAD regression (1), not (0), untested (< 0):
				* avoided with an sk_skb verdict on the sockhash */
	int eagain_hazard;     /* blocking reads on sockets in the sockhash fail with EAGAIN when woken
				* without data (1), not (0), untested (< 0) */
	bool uprobes;	       /* perf uprobes (CONFIG_UPROBE_EVENTS): TLS read at OpenSSL */
};

/* Probes this kernel (once; later calls return the cached answer). */
void variant_probe(struct kernel_variant *kv);
/* Probes and configures the opened, not yet loaded, object for this kernel. */
void variant_apply(struct obsbpf_bpf *s, struct kernel_variant *kv);
/* Why a program the variant does not load is left out. */
const char *variant_skip_reason(const struct kernel_variant *kv, const char *prog);
/* One line per choice: what this kernel gets and what degrades. */
void variant_print(FILE *out, const struct kernel_variant *kv);

#endif
