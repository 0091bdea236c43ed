// SPDX-License-Identifier: GPL-2.0
#include "probe.h"

#include "util/log.h"

#include "pod/pod.h"
#include "datapath.h"
#include "variant.h"
#include "verify.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

struct feature {
	const char *name;
	bool required;
	const char *without; /* what degrades when missing */
	int (*check)(void);
};

static int has_btf(void)
{
	return access("/sys/kernel/btf/vmlinux", R_OK) == 0;
}
static int has_cgroup2(void)
{
	return cgroup2_mount() != NULL;
}
static int has_sockops(void)
{
	return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCK_OPS, NULL) == 1;
}
static int has_sk_msg(void)
{
	return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_MSG, NULL) == 1;
}
static int has_tc(void)
{
	return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL) == 1;
}
static int has_sockhash(void)
{
	return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SOCKHASH, NULL) == 1;
}
static int has_sk_storage(void)
{
	return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, NULL) == 1;
}
static int has_ringbuf(void)
{
	return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
}
static int has_push_data(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_msg_push_data, NULL) == 1;
}
static int has_loop(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_loop, NULL) == 1;
}

/* The tracepoint exists when the kernel's BTF has its typedef (6.3+). */
bool probe_sock_recv_length(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf)
		return false;
	bool ok = btf__find_by_name_kind(btf, "btf_trace_sock_recv_length", BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	return ok;
}

static int has_tcx(void)
{
	return datapath_probe_tcx();
}

static int has_privilege(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	/* CAP_SYS_ADMIN covers BPF, cgroup attach and setns; CAP_NET_ADMIN the tc hooks. */
	return (d[0].effective & (1u << CAP_SYS_ADMIN)) && (d[0].effective & (1u << CAP_NET_ADMIN));
}

static const struct feature features[] = {
	{ "privileges (CAP_SYS_ADMIN, CAP_NET_ADMIN)", true,
	  "nothing can be loaded: run as root or privileged", has_privilege },
	{ "kernel BTF (/sys/kernel/btf/vmlinux)", true, "CO-RE relocations cannot be resolved", has_btf },
	{ "cgroup v2 mount", true, "pods cannot be found or attached to", has_cgroup2 },
	{ "sockops programs", true, "connections cannot be followed", has_sockops },
	{ "sk_msg programs", true, "outgoing requests are not seen", has_sk_msg },
	{ "sockhash maps", true, "sk_msg cannot be attached", has_sockhash },
	{ "socket storage maps", true, "no per-connection state", has_sk_storage },
	{ "tc (sched_cls) programs", true,
	  "incoming requests and responses, and the pod's responses, are not seen", has_tc },
	{ "ring buffer maps", true, "no per-request events", has_ringbuf },
	{ "bpf_loop helper in sk_msg", true, "routes cannot be parsed", has_loop },
	{ "bpf_msg_push_data helper", true, "trace headers cannot be injected", has_push_data },
	{ "tcx links (Linux 6.6)", false,
	  "tc filters instead: a killed agent leaves them attached until the next start reclaims them",
	  has_tcx },
};

int probe_libbpf_silent(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

bool probe_run(FILE *out, bool verbose)
{
	bool ok = true;
	libbpf_print_fn_t old = libbpf_set_print(verbose ? log_libbpf_print : probe_libbpf_silent);
	if (verbose)
		libbpf_set_print(old);
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		const struct feature *f = &features[i];
		bool has = f->check();
		fprintf(out, "%-4s %-44s%s%s\n", has ? "yes" : "NO", f->name, has ? "" : " -> ",
			has ? "" : f->without);
		if (!has && f->required)
			ok = false;
	}
	struct kernel_variant kv;
	variant_probe(&kv);
	variant_print(out, &kv);
	/* What the kernel offers is not enough: only loading the real programs, as attach will,
	 * says whether the verifier takes them. */
	struct verify_result r[VERIFY_MAX_PROGS];
	int n = verify_programs(r, VERIFY_MAX_PROGS);
	if (n < 0) {
		fprintf(out, "NO   the BPF object cannot be opened: %s\n", strerror(-n));
		ok = false;
	}
	fprintf(out, "programs (each loaded alone, as attach loads it):\n");
	verify_print(out, r, n);
	for (int i = 0; i < n; i++)
		if (!r[i].skipped && !r[i].loaded)
			ok = false;
	fprintf(out, "%s\n",
		ok ? "obsbpf attach can work on this kernel"
		   : "obsbpf attach cannot work on this kernel (see NO and FAIL above)");
	libbpf_set_print(old);
	return ok;
}

const char *probe_required(void)
{
	static char why[160];
	libbpf_print_fn_t old = libbpf_set_print(probe_libbpf_silent);
	const char *r = NULL;
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]) && !r; i++) {
		const struct feature *f = &features[i];
		if (f->required && !f->check()) {
			snprintf(why, sizeof(why), "missing %s: %s", f->name, f->without);
			r = why;
		}
	}
	libbpf_set_print(old);
	return r;
}
