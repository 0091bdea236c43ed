// SPDX-License-Identifier: GPL-2.0
/* The agent's TLS part: finds the OpenSSL files the pods' processes map (each second, for the
 * processes new in their cgroups) and has them probed; feeds the calls' plaintext to the TLS
 * decoder (user/tls), whose exchanges join HTTP/2's (agent_h2.c: histograms, spans, observe
 * lines) with url_scheme="https"; names once each process that moves TLS bytes without a
 * probed library ("TLS not visible"); drops state of exited processes. */
#include "agent_tls.h"
#include "agent_h2.h"

#include "bpf/datapath.h"
#include "loop/loop.h"
#include "metrics/red.h"
#include "tls/tls.h"
#include "util/array.h"
#include "util/log.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCAN_MS		  1000
#define RESCAN_EVERY	  10 /* scans: a process without libssl is looked at again (dlopen) */
#define SWEEP_EVERY	  10 /* scans: the kernel's state of exited processes is dropped */
#define IDLE_NS		  (300ull * 1000000000ull) /* a connection idle this long is forgotten */
#define BLIND_AFTER_SCANS 3			   /* TLS bytes without SSL calls this long: not visible */
#define CGROUP_DEPTH	  8
#define MAX_PIDS_LISTED	  4096

struct tls_proc {
	uint32_t tgid, pod_id;
	uint64_t exe_ino;
	uint64_t gen;	  /* the last scan that found it */
	bool libssl;	  /* maps a probed libssl */
	uint8_t io_scans; /* scans it moved TLS bytes without an SSL call of a probed library */
	bool blind;	  /* named as "TLS not visible" */
	char comm[16];	  /* its name when it was named (it may have exited since) */
};

struct tls_root {
	uint64_t dev, ino;
};

struct agent_tls {
	struct agent *a;
	struct tls_root *roots; /* the root directories (container images) looked through */
	size_t nroots, cap_roots;
	struct tls_tracker *t;
	struct loop_watch *timer;
	struct tls_proc *procs;
	size_t nprocs, cap;
	uint64_t gen;
	bool host_pids;
};

static void forget_ssl(void *arg, uint32_t tgid, uint64_t ssl, uint64_t cookie)
{
	struct agent_tls *s = arg;
	datapath_tls_forget(s->a->dp, tgid, ssl, cookie);
}

static struct tls_proc *proc_find(struct agent_tls *s, uint32_t tgid)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].tgid == tgid)
			return &s->procs[i];
	return NULL;
}

static uint64_t exe_ino(uint32_t pid)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof(p), "/proc/%u/exe", pid);
	return stat(p, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* The first process seen of each root (a container's image): that image's OpenSSL is probed
 * before any process maps it, so that a short-lived one (curl) is seen from its first call. */
static void saw_root(struct agent_tls *s, uint32_t pid)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof(p), "/proc/%u/root/", pid);
	if (stat(p, &st) < 0)
		return;
	for (size_t i = 0; i < s->nroots; i++)
		if (s->roots[i].dev == (uint64_t)st.st_dev && s->roots[i].ino == (uint64_t)st.st_ino)
			return;
	if (!array_grow((void **)&s->roots, &s->cap_roots, s->nroots + 1, sizeof(*s->roots)))
		return;
	s->roots[s->nroots++] = (struct tls_root){ st.st_dev, st.st_ino };
	datapath_tls_scan_root(s->a->dp, (int)pid);
}

/* A process of pod pod_id, found in this scan. */
static void saw_pid(struct agent_tls *s, uint32_t pod_id, uint32_t pid)
{
	struct tls_proc *p = proc_find(s, pid);
	uint64_t ino = exe_ino(pid);
	bool look = !p || p->exe_ino != ino || (!p->libssl && s->gen % RESCAN_EVERY == 0);
	if (!p) {
		if (!array_grow((void **)&s->procs, &s->cap, s->nprocs + 1, sizeof(*s->procs)))
			return;
		p = &s->procs[s->nprocs++];
		memset(p, 0, sizeof(*p));
		p->tgid = pid;
	}
	p->pod_id = pod_id;
	p->gen = s->gen;
	p->exe_ino = ino;
	if (look) {
		saw_root(s, pid);
		p->libssl = datapath_tls_scan_pid(s->a->dp, (int)pid) == 1;
	}
}

/* Every process in the cgroup directory at fd and below it. */
static void scan_cgroup(struct agent_tls *s, uint32_t pod_id, int dirfd, int depth)
{
	int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		FILE *f = fdopen(fd, "re");
		unsigned pid;
		if (f) {
			while (fscanf(f, "%u", &pid) == 1)
				saw_pid(s, pod_id, pid);
			fclose(f);
		} else {
			close(fd);
		}
	}
	if (depth >= CGROUP_DEPTH)
		return;
	int dfd = dup(dirfd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub >= 0) {
			scan_cgroup(s, pod_id, sub, depth + 1);
			close(sub);
		}
	}
	closedir(d);
}

static void proc_comm(uint32_t pid, char *out, size_t n)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%u/comm", pid);
	FILE *f = fopen(p, "re");
	out[0] = 0;
	if (f) {
		if (fgets(out, (int)n, f))
			out[strcspn(out, "\n")] = 0;
		fclose(f);
	}
}

/* Processes moving TLS bytes outside every probed SSL call (a static OpenSSL, Go's crypto/tls,
 * BoringSSL linked in) for a few scans: named once. The handshake's bytes move before the
 * first SSL_read/SSL_write, hence the wait. */
static void find_blind(struct agent_tls *s)
{
	static uint32_t tgid[MAX_PIDS_LISTED], flags[MAX_PIDS_LISTED];
	int n = datapath_tls_pids(s->a->dp, tgid, flags, MAX_PIDS_LISTED);
	for (int i = 0; i < n; i++) {
		struct tls_proc *p = proc_find(s, tgid[i]);
		if (!p)
			continue;
		if (flags[i] & OBSBPF_TLS_PID_CALLS) {
			p->io_scans = 0;
			p->blind = false;
			continue;
		}
		if (!(flags[i] & OBSBPF_TLS_PID_IO) || p->blind || ++p->io_scans < BLIND_AFTER_SCANS)
			continue;
		p->blind = true;
		const struct agent_pod *ap = agent_pod(s->a, p->pod_id);
		proc_comm(p->tgid, p->comm, sizeof(p->comm));
		log_warn("tls",
			 "pod %s/%s: process %u (%s) moves TLS bytes without calling a probed OpenSSL "
			 "(statically linked, Go crypto/tls, BoringSSL?): its TLS is not visible\n",
			 ap ? ap->info.namespace_ : "?", ap ? ap->info.name : "?", p->tgid, p->comm);
	}
}

static void on_scan(void *arg)
{
	struct agent_tls *s = arg;
	struct agent *a = s->a;
	s->gen++;
	for (int i = 0; i < a->npods; i++) {
		int fd = open(a->pods[i]->info.cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		scan_cgroup(s, a->pods[i]->id, fd, 0);
		close(fd);
	}
	/* Processes gone (or out of every pod) since the last scan. */
	size_t n = 0;
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].gen == s->gen)
			s->procs[n++] = s->procs[i];
	s->nprocs = n;
	find_blind(s);
	if (s->gen % SWEEP_EVERY == 0) {
		datapath_tls_sweep(a->dp);
		tls_tracker_sweep(s->t, loop_now_ns() > IDLE_NS ? loop_now_ns() - IDLE_NS : 0, s->host_pids);
	}
}

static void on_tls_event(void *arg, const void *data, size_t len)
{
	struct agent_tls *s = arg;
	tls_tracker_event(s->t, data, len);
}

int agent_tls_start(struct agent *a)
{
	if (!strcmp(a->cfg->tls, "off"))
		return 0;
	if (strcmp(a->cfg->tls, "openssl")) {
		log_error("agent", "--tls %s: expected openssl or off\n", a->cfg->tls);
		return -1;
	}
	struct agent_tls *s = calloc(1, sizeof(*s));
	if (!s)
		goto oom;
	a->tls = s;
	s->a = a;
	s->host_pids = datapath_host_pids();
	s->t = tls_tracker_new(a->cfg->max_tls_conns, agent_h2_exchange, a->h2, agent_h2_tracker(a));
	if (s->t)
		tls_tracker_on_forget(s->t, forget_ssl, s);
	if (!s->t)
		goto oom;
	int err = datapath_tls_start(a->dp, on_tls_event, s);
	if (err == -EOPNOTSUPP) {
		log_warn("tls",
			 "this kernel has no uprobes (CONFIG_UPROBE_EVENTS): TLS passes unparsed, "
			 "counted in obsbpf_connections_unparsed_total{protocol=\"tls\"}\n");
		agent_tls_stop(a);
		return 0;
	}
	if (err < 0) {
		log_error("agent", "TLS ring buffer: %s\n", strerror(-err));
		return -1;
	}
	if (!s->host_pids)
		log_warn("tls",
			 "not in the host's pid namespace (hostPID): TLS state of exited "
			 "processes ages out instead of being dropped at once\n");
	if (!(s->timer = loop_add_timer(a->loop, 1, SCAN_MS, on_scan, s)))
		goto oom;
	return 0;
oom:
	log_error("agent", "TLS decoder: out of memory\n");
	return -1;
}

void agent_tls_stop(struct agent *a)
{
	struct agent_tls *s = a->tls;
	if (!s)
		return;
	loop_remove(s->timer);
	tls_tracker_free(s->t);
	free(s->procs);
	free(s->roots);
	free(s);
	a->tls = NULL;
}

void agent_tls_forget_pod(struct agent *a, uint32_t pod_id)
{
	struct agent_tls *s = a->tls;
	if (!s)
		return;
	tls_tracker_forget_pod(s->t, pod_id);
	size_t n = 0;
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].pod_id != pod_id)
			s->procs[n++] = s->procs[i];
	s->nprocs = n;
}

void agent_tls_render_counters(const struct agent *a, struct strbuf *out, enum exposition_format fmt,
			       const struct pod_labels *l)
{
	const struct agent_tls *s = a->tls;
	if (!s)
		return;
	const struct tls_stats *st = tls_tracker_stats(s->t);
	unsigned blind = 0;
	for (size_t i = 0; i < s->nprocs; i++)
		blind += s->procs[i].blind;
	http_expo_family(out, fmt, "obsbpf_tls_libraries_probed", "gauge",
			 "OpenSSL library files (libssl) with uprobes on SSL_read/SSL_write.");
	red_sample(out, "obsbpf_tls_libraries_probed", NULL, l, datapath_tls_libs(a->dp));
	http_expo_family(
		out, fmt, "obsbpf_tls_processes_not_visible", "gauge",
		"Processes moving TLS bytes without calling a probed OpenSSL (static or Go TLS): their TLS is not seen.");
	red_sample(out, "obsbpf_tls_processes_not_visible", NULL, l, blind);
	http_expo_family(out, fmt, "obsbpf_tls_events_read_total", "counter",
			 "SSL_read/SSL_write calls handed on by the uprobes.");
	red_sample(out, "obsbpf_tls_events_read_total", NULL, l, datapath_tls_events_read(a->dp));
	http_expo_family(out, fmt, "obsbpf_tls_connections_parsed", "gauge",
			 "TLS connections (process and SSL *) whose plaintext is being parsed.");
	red_sample(out, "obsbpf_tls_connections_parsed", NULL, l, st->conns);
	http_expo_family(
		out, fmt, "obsbpf_tls_connections_unparsed_total", "counter",
		"TLS plaintext not parsed: HTTP/1 bytes refused (a head longer than the bytes handed on; parsing resumes at the next message), an HTTP/2 frame beyond them (the connection), connections past --max-tls-connections, or plaintext that is not HTTP.");
	for (int d = 0; d < TLS_DROP_MAX; d++) {
		char lab[64];
		snprintf(lab, sizeof(lab), "reason=\"%s\"", tls_drop_name((enum tls_drop)d));
		red_sample(out, "obsbpf_tls_connections_unparsed_total", lab, l, st->dropped[d]);
	}
	red_sample(out, "obsbpf_tls_connections_unparsed_total", "reason=\"not_http\"", l, st->other);
}

void agent_tls_status_json(const struct agent *a, struct strbuf *b)
{
	const struct agent_tls *s = a->tls;
	sb_printf(b, ",\"tls\":{\"enabled\":%s", s ? "true" : "false");
	if (!s) {
		sb_putc(b, '}');
		return;
	}
	const struct tls_stats *st = tls_tracker_stats(s->t);
	sb_printf(b,
		  ",\"libraries_probed\":%zu,\"connections_parsed\":%" PRIu64 ",\"exchanges\":%" PRIu64
		  ",\"calls_after_close\":%" PRIu64,
		  datapath_tls_libs(a->dp), st->conns, st->exchanges, st->late);
	sb_puts(b, ",\"not_visible\":[");
	bool first = true;
	for (size_t i = 0; i < s->nprocs; i++) {
		const struct tls_proc *p = &s->procs[i];
		if (!p->blind)
			continue;
		const struct agent_pod *ap = agent_pod((struct agent *)a, p->pod_id);
		sb_printf(b, "%s{\"pid\":%u", first ? "" : ",", p->tgid);
		sb_json_kv(b, "comm", p->comm, true);
		sb_json_kv(b, "pod", ap ? ap->info.name : "", true);
		sb_json_kv(b, "namespace", ap ? ap->info.namespace_ : "", true);
		sb_json_kv(b, "reason", "TLS not visible", true);
		sb_putc(b, '}');
		first = false;
	}
	sb_puts(b, "]}");
}
