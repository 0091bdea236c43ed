// SPDX-License-Identifier: GPL-2.0
/* TLS at the library: the OpenSSL (libssl) files the pods' processes map get uprobes on
 * SSL_write, SSL_write_ex, SSL_read and SSL_read_ex (entry and return), once per file, attached
 * through /proc/PID/root so that a container's own copy is the one probed. The probes fire for
 * every process mapping the file; bpf/tls.bpf.c returns at once outside the attached pods. The
 * kernel's per-SSL and per-thread state is dropped here when its process or thread is gone. */
#include "datapath.h"
#include "datapath_priv.h"

#include "util/array.h"
#include "util/log.h"

#include <obsbpf/tls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *const funcs[DP_TLS_PROBES / 2] = { "SSL_write", "SSL_write_ex", "SSL_read",
						      "SSL_read_ex" };

static int on_tls_event(void *ctx, void *data, size_t size)
{
	struct datapath *dp = ctx;
	dp->tls_events_read++;
	if (dp->tls_fn)
		dp->tls_fn(dp->tls_arg, data, size);
	return 0;
}

int datapath_tls_start(struct datapath *dp, dp_h2_fn fn, void *arg)
{
	if (!dp->rb)
		return -EINVAL;
	if (!dp->kv.uprobes)
		return -EOPNOTSUPP;
	dp->tls_fn = fn;
	dp->tls_arg = arg;
	int err = ring_buffer__add(dp->rb, bpf_map__fd(dp->skel->maps.tls_events), on_tls_event, dp);
	if (err < 0)
		return err;
	/* Reads tie an SSL * to its socket in the thread hook, as sends do in sk_msg. */
	return dp_attach_recv(dp, "TLS connections the pod accepts are seen without their addresses");
}

static struct bpf_program *entry_prog(struct datapath *dp, int i)
{
	struct bpf_program *p[] = { dp->skel->progs.obsbpf_ssl_write, dp->skel->progs.obsbpf_ssl_write_ex,
				    dp->skel->progs.obsbpf_ssl_read, dp->skel->progs.obsbpf_ssl_read_ex };
	return p[i];
}

static void lib_free(struct dp_tls_lib *l)
{
	for (int i = 0; i < DP_TLS_PROBES; i++)
		bpf_link__destroy(l->links[i]);
	memset(l->links, 0, sizeof(l->links));
}

/* The four functions' entry and return probes on the file at path. */
static int lib_attach(struct datapath *dp, struct dp_tls_lib *l, const char *path)
{
	for (int i = 0; i < DP_TLS_PROBES / 2; i++) {
		for (int ret = 0; ret < 2; ret++) {
			LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = funcs[i], .retprobe = ret);
			struct bpf_program *p = ret ? dp->skel->progs.obsbpf_ssl_ret : entry_prog(dp, i);
			struct bpf_link *k = bpf_program__attach_uprobe_opts(p, -1, path, 0, &o);
			if (!k) {
				int err = -errno;
				lib_free(l);
				return err;
			}
			l->links[i * 2 + ret] = k;
		}
	}
	return 0;
}

static bool is_libssl(const char *path)
{
	const char *base = strrchr(path, '/');
	return base && !strncmp(base + 1, "libssl.so", 9);
}

/* Probes the file (as pid sees it at path) unless probed already. 1: probed now or before. */
static int probe_file(struct datapath *dp, int pid, const char *path, unsigned long dev, unsigned long ino)
{
	for (size_t i = 0; i < dp->ntls_libs; i++)
		if (dp->tls_libs[i].dev == dev && dp->tls_libs[i].ino == ino)
			return 1;
	if (!array_grow((void **)&dp->tls_libs, &dp->cap_tls_libs, dp->ntls_libs + 1, sizeof(*dp->tls_libs)))
		return -ENOMEM;
	struct dp_tls_lib *l = &dp->tls_libs[dp->ntls_libs];
	memset(l, 0, sizeof(*l));
	l->dev = dev;
	l->ino = ino;
	snprintf(l->path, sizeof(l->path), "%s", path);
	/* The file as the process sees it: a container's own copy, not the node's. */
	char root_path[PATH_MAX + 32];
	snprintf(root_path, sizeof(root_path), "/proc/%d/root%s", pid, path);
	int rc = lib_attach(dp, l, root_path);
	if (rc < 0) {
		log_warn("tls", "uprobes on %s (pid %d): %s: its TLS is not visible\n", path, pid,
			 strerror(-rc));
		return rc;
	}
	dp->ntls_libs++;
	log_info("tls", "OpenSSL probed: %s (seen from pid %d)\n", path, pid);
	return 1;
}

int datapath_tls_scan_pid(struct datapath *dp, int pid)
{
	char maps[64];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	FILE *f = fopen(maps, "re");
	if (!f)
		return -errno;
	char line[PATH_MAX + 128];
	int found = 0, err = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long ino;
		int at = 0;
		if (sscanf(line, "%*s %*s %*s %x:%x %lu %n", &maj, &min, &ino, &at) < 3 || !at || !ino)
			continue;
		char *path = line + at;
		path[strcspn(path, "\n")] = 0;
		if (path[0] != '/' || !is_libssl(path) || strstr(path, " (deleted)"))
			continue;
		int rc = probe_file(dp, pid, path, (unsigned long)makedev(maj, min), ino);
		if (rc > 0)
			found = 1;
		else
			err = rc;
	}
	fclose(f);
	return err < 0 && !found ? err : found;
}

/* The library directories of a root (Debian's and most distributions' layouts). */
static const char *const lib_dirs[] = { "/usr/lib/x86_64-linux-gnu",
					"/lib/x86_64-linux-gnu",
					"/usr/lib/aarch64-linux-gnu",
					"/lib/aarch64-linux-gnu",
					"/usr/lib64",
					"/lib64",
					"/usr/lib",
					"/lib",
					"/usr/local/lib" };

int datapath_tls_scan_root(struct datapath *dp, int pid)
{
	int n = 0;
	for (size_t i = 0; i < sizeof(lib_dirs) / sizeof(lib_dirs[0]); i++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "/proc/%d/root%s", pid, lib_dirs[i]);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (strncmp(de->d_name, "libssl.so.", 10))
				continue;
			char p[PATH_MAX + 256], inside[PATH_MAX];
			struct stat st;
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			snprintf(inside, sizeof(inside), "%s/%s", lib_dirs[i], de->d_name);
			/* The file a link names (libssl.so.3 -> libssl.so.3.0.x) is probed once. */
			if (stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
			    probe_file(dp, pid, inside, (unsigned long)st.st_dev, (unsigned long)st.st_ino) >
				    0)
				n++;
		}
		closedir(d);
	}
	return n;
}

size_t datapath_tls_libs(const struct datapath *dp)
{
	return dp->ntls_libs;
}

uint64_t datapath_tls_events_read(const struct datapath *dp)
{
	return dp->tls_events_read;
}

void dp_tls_detach(struct datapath *dp)
{
	for (size_t i = 0; i < dp->ntls_libs; i++)
		lib_free(&dp->tls_libs[i]);
	free(dp->tls_libs);
	dp->tls_libs = NULL;
	dp->ntls_libs = dp->cap_tls_libs = 0;
}

void datapath_tls_forget(struct datapath *dp, uint32_t tgid, uint64_t ssl, uint64_t cookie)
{
	struct obsbpf_tls_key k = { .ssl = ssl, .tgid = tgid };
	struct obsbpf_tls_sock s;
	int fd = bpf_map__fd(dp->skel->maps.tls_sock);
	/* The SSL * may already move bytes on another socket (the library reused it). */
	if (bpf_map_lookup_elem(fd, &k, &s) == 0 && (!cookie || s.cookie == cookie))
		bpf_map_delete_elem(fd, &k);
	bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.tls_h2), &k);
}

static bool alive(uint32_t tgid, uint32_t tid)
{
	char p[64];
	if (tid)
		snprintf(p, sizeof(p), "/proc/%u/task/%u", tgid, tid);
	else
		snprintf(p, sizeof(p), "/proc/%u", tgid);
	return access(p, F_OK) == 0;
}

/* Deletes the entries of a map whose key's process (or thread) is gone. tgid_of: from a key. */
static void sweep_map(int fd, size_t key_size, void (*who)(const void *key, uint32_t *tgid, uint32_t *tid))
{
	uint8_t key[32], next[32], gone[64][32];
	size_t ngone = 0;
	void *prev = NULL;
	while (ngone < 64 && bpf_map_get_next_key(fd, prev, next) == 0) {
		uint32_t tgid, tid;
		who(next, &tgid, &tid);
		if (!alive(tgid, tid))
			memcpy(gone[ngone++], next, key_size);
		memcpy(key, next, key_size);
		prev = key;
	}
	for (size_t i = 0; i < ngone; i++)
		bpf_map_delete_elem(fd, gone[i]);
}

static void who_thread(const void *key, uint32_t *tgid, uint32_t *tid)
{
	uint64_t id;
	memcpy(&id, key, sizeof(id));
	*tgid = (uint32_t)(id >> 32);
	*tid = (uint32_t)id;
}

static void who_ssl(const void *key, uint32_t *tgid, uint32_t *tid)
{
	const struct obsbpf_tls_key *k = key;
	*tgid = k->tgid;
	*tid = 0;
}

static void who_pid(const void *key, uint32_t *tgid, uint32_t *tid)
{
	memcpy(tgid, key, sizeof(*tgid));
	*tid = 0;
}

bool datapath_host_pids(void)
{
	/* The initial pid namespace's inode is fixed (PROC_PID_INIT_INO): only there are the
	 * kernel's pids (bpf_get_current_pid_tgid) the ones /proc names. */
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == 0xEFFFFFFCu;
}

void datapath_tls_sweep(struct datapath *dp)
{
	if (!datapath_host_pids())
		return; /* the maps are LRU: they age out instead */
	/* A thread that died inside an SSL call; SSL *s and processes that exited. */
	sweep_map(bpf_map__fd(dp->skel->maps.tls_args), sizeof(uint64_t), who_thread);
	sweep_map(bpf_map__fd(dp->skel->maps.tls_sock), sizeof(struct obsbpf_tls_key), who_ssl);
	sweep_map(bpf_map__fd(dp->skel->maps.tls_h2), sizeof(struct obsbpf_tls_key), who_ssl);
	sweep_map(bpf_map__fd(dp->skel->maps.tls_pids), sizeof(uint32_t), who_pid);
}

int datapath_tls_pids(struct datapath *dp, uint32_t *tgid, uint32_t *flags, int max)
{
	int fd = bpf_map__fd(dp->skel->maps.tls_pids), n = 0;
	uint32_t key, next;
	void *prev = NULL;
	while (n < max && bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, &flags[n]) == 0)
			tgid[n++] = next;
		key = next;
		prev = &key;
	}
	return n;
}
