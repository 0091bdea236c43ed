// SPDX-License-Identifier: GPL-2.0
#include "variant.h"

#include "hazard.h"
#include "probe.h"

#include <bpf/libbpf.h>
#include <string.h>
#include <unistd.h>

#include <obsbpf/types.h>

#include "features.skel.h"
#include "obsbpf.skel.h"

/* Loads the one feature program `name` of the probe object: whether this kernel's verifier
 * takes it, as it would take the same call in obsbpf's program of that type. */
static bool loads(const char *name)
{
	struct obsbpf_features *f = obsbpf_features__open();
	if (!f)
		return false;
	struct bpf_program *p;
	bpf_object__for_each_program(p, f->obj)
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), name));
	bool ok = obsbpf_features__load(f) == 0;
	obsbpf_features__destroy(f);
	return ok;
}

/* The perf event source libbpf attaches uprobes through (CONFIG_UPROBE_EVENTS). */
static bool has_uprobes(void)
{
	return access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
}

void variant_probe(struct kernel_variant *kv)
{
	static struct kernel_variant cached;
	static bool done;
	if (!done) {
		libbpf_print_fn_t old = libbpf_set_print(probe_libbpf_silent);
		cached.recv_tp = probe_sock_recv_length();
		cached.recv_fexit = !cached.recv_tp && loads("feat_fexit_recvmsg");
		cached.msg_task_storage = loads("feat_msg_task_storage");
		cached.tc_pid_tgid = loads("feat_tc_pid_tgid");
		cached.uprobes = has_uprobes();
		cached.fionread_hazard = hazard_fionread();
		/* With the receive path the pod's sockets will have: the verdict's, where it is. */
		cached.eagain_hazard = hazard_recv_eagain(cached.fionread_hazard != 0);
		libbpf_set_print(old);
		done = true;
	}
	*kv = cached;
}

void variant_apply(struct obsbpf_bpf *s, struct kernel_variant *kv)
{
	variant_probe(kv);
	/* Without a hook for the reading thread everything else still works: neither is loaded. */
	bpf_program__set_autoload(s->progs.obsbpf_recv, kv->recv_tp);
	bpf_program__set_autoload(s->progs.obsbpf_recv_fexit, kv->recv_fexit);
	s->rodata->obsbpf_cfg_thread_hash = !kv->msg_task_storage;
	s->rodata->obsbpf_cfg_tc_tid = kv->tc_pid_tgid;
	/* Where the test could not run, the verdict too: its cost beats a stalled proxy. */
	bpf_program__set_autoload(s->progs.obsbpf_skb_pass, kv->fionread_hazard != 0);
	/* With that verdict the psock holds what the socket received: a connection leaves the
	 * sockhash only at a moment when nothing is lost, found by the release iterator
	 * (bpf/release.bpf.c). Without, the agent takes it out by cookie. */
	bpf_program__set_autoload(s->progs.obsbpf_release, kv->fionread_hazard != 0);
}

const char *variant_skip_reason(const struct kernel_variant *kv, const char *prog)
{
	if (!strcmp(prog, "obsbpf_recv"))
		return "no tp_btf/sock_recv_length on this kernel (6.3+)";
	if (!strcmp(prog, "obsbpf_recv_fexit"))
		return kv->recv_tp ? "not needed: tp_btf/sock_recv_length is used"
				   : "this kernel refuses fexit on tcp_recvmsg";
	if (!strcmp(prog, "obsbpf_skb_pass"))
		return "not needed: no sockmap FIONREAD regression on this kernel";
	if (!strcmp(prog, "obsbpf_release"))
		return "not needed: without the sk_skb verdict connections leave the sockhash by cookie";
	return "not used on this kernel";
}

void variant_print(FILE *out, const struct kernel_variant *kv)
{
	fprintf(out, "%-4s %-44s%s\n", kv->recv_tp || kv->recv_fexit ? "yes" : "NO",
		"thread hook for in-process propagation",
		kv->recv_tp		 ? " (tp_btf/sock_recv_length)"
			: kv->recv_fexit ? " (fexit/tcp_recvmsg)"
					 : " -> requests a pod sends while serving one start new traces");
	fprintf(out, "%-4s %-44s%s\n", kv->msg_task_storage ? "yes" : "no", "task storage in sk_msg",
		kv->msg_task_storage ? "" : " -> thread bindings in a hash keyed by thread id");
	fprintf(out, "%-4s %-44s%s\n", kv->tc_pid_tgid ? "yes" : "no", "bpf_get_current_pid_tgid in tc",
		kv->tc_pid_tgid ? "" : " -> server spans carry no thread.id");
	fprintf(out, "%-4s %-44s%s\n", kv->uprobes ? "yes" : "no", "uprobes (TLS read at OpenSSL)",
		kv->uprobes ? "" : " -> TLS passes unparsed, counted");
	fprintf(out, "%-4s %-44s%s\n", kv->fionread_hazard ? "HAZ" : "no", "sockmap FIONREAD regression",
		kv->fionread_hazard > 0
			? " -> avoided: an sk_skb verdict on the sockhash keeps FIONREAD right"
			: kv->fionread_hazard < 0 ? " -> could not be tested: avoided as if present"
						  : "");
	fprintf(out, "%-4s %-44s%s\n", kv->eagain_hazard ? "HAZ" : "no",
		"sockmap blocking recv EAGAIN (tcp_bpf)",
		kv->eagain_hazard > 0
			? " -> in part: connections sk_msg no longer needs leave the sockhash; HTTP/1 clients' stay"
			: kv->eagain_hazard < 0 ? " -> could not be tested: avoided in part as if present"
						: "");
}
