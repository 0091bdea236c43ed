// SPDX-License-Identifier: GPL-2.0
#include "pod.h"
#include "util/log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

const char *cgroup2_mount(void)
{
	static char path[PATH_MAX];
	char line[4096];
	FILE *f = fopen("/proc/self/mounts", "re");
	if (!f)
		return NULL;
	path[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char dev[256], mnt[PATH_MAX], type[64];
		if (sscanf(line, "%255s %4095s %63s", dev, mnt, type) == 3 && !strcmp(type, "cgroup2")) {
			snprintf(path, sizeof(path), "%s", mnt);
			break;
		}
	}
	fclose(f);
	return path[0] ? path : NULL;
}

int parse_proc_cgroup(const char *content, char *out, size_t outlen)
{
	const char *p = content;
	while (p && *p) {
		if (!strncmp(p, "0::", 3)) {
			const char *end = strchr(p, '\n');
			size_t n = end ? (size_t)(end - p - 3) : strlen(p + 3);
			if (n + 1 > outlen)
				return -ENAMETOOLONG;
			memcpy(out, p + 3, n);
			out[n] = '\0';
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

/* A process may sit in a container cgroup below the pod's ("kubepods/burstable/pod<uid>/<ctr>",
 * "kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope"): cut the path after the pod
 * component, so that every container of the pod is covered. */
void pod_cgroup_trim(char *path)
{
	char *seg = path;
	while (seg && *seg) {
		while (*seg == '/')
			seg++;
		char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		bool podseg = (n > 3 && !strncmp(seg, "pod", 3)) ||
			(n > 6 && memmem(seg, n, "-pod", 4) && !strncmp(seg + n - 6, ".slice", 6));
		if (podseg) {
			seg[n] = '\0';
			return;
		}
		seg = end;
	}
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	return (int)n;
}

/* The UTS hostname seen inside the namespace at /proc/PID/ns/uts: a child joins it and reports. */
static int uts_hostname(pid_t pid, char *out, size_t outlen)
{
	char path[64];
	int pfd[2];
	snprintf(path, sizeof(path), "/proc/%d/ns/uts", pid);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return -errno;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		close(nsfd);
		return -errno;
	}
	pid_t child = fork();
	if (child == 0) {
		char h[256] = "";
		if (setns(nsfd, CLONE_NEWUTS) == 0 && gethostname(h, sizeof(h)) == 0)
			(void)!write(pfd[1], h, strlen(h));
		_exit(0);
	}
	close(nsfd);
	close(pfd[1]);
	ssize_t n = child > 0 ? read(pfd[0], out, outlen - 1) : -1;
	close(pfd[0]);
	if (child > 0)
		waitpid(child, NULL, 0);
	if (n < 0)
		return -EIO;
	out[n] = '\0';
	return 0;
}

/* Finds a process whose UTS hostname is `name`, outside our own UTS namespace. */
static pid_t find_pod_pid(const char *name)
{
	struct stat self, st;
	unsigned long long seen[512];
	int nseen = 0;
	pid_t found = 0;

	if (stat("/proc/self/ns/uts", &self) < 0)
		return -errno;
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[300], host[256];
		snprintf(path, sizeof(path), "/proc/%s/ns/uts", de->d_name);
		if (stat(path, &st) < 0 || st.st_ino == self.st_ino)
			continue;
		bool known = false;
		for (int i = 0; i < nseen; i++)
			known |= seen[i] == (unsigned long long)st.st_ino;
		if (known)
			continue;
		if (nseen < 512)
			seen[nseen++] = st.st_ino;
		pid_t pid = atoi(de->d_name);
		if (uts_hostname(pid, host, sizeof(host)) == 0 && !strcmp(host, name))
			found = pid;
	}
	closedir(d);
	return found;
}

static int open_netns(struct pod_info *p, const char *path)
{
	struct statfs sfs;
	p->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (p->netns_fd < 0) {
		int e = errno;
		log_error("pod", "attach: netns %s: %s\n", path, strerror(e));
		return -e;
	}
	if (fstatfs(p->netns_fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC) {
		log_error("pod", "attach: netns %s: not a network namespace\n", path);
		return -EINVAL;
	}
	snprintf(p->netns_path, sizeof(p->netns_path), "%s", path);
	return 0;
}

static int set_cgroup(struct pod_info *p, const char *path)
{
	struct statfs sfs;
	struct stat st;
	if (stat(path, &st) < 0) {
		int e = errno;
		log_error("pod", "attach: cgroup %s: %s\n", path, strerror(e));
		return -e;
	}
	if (statfs(path, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode)) {
		log_error("pod", "attach: cgroup %s: not a cgroup v2 directory\n", path);
		return -EINVAL;
	}
	snprintf(p->cgroup_path, sizeof(p->cgroup_path), "%s", path);
	p->cgroup_id = st.st_ino; /* on cgroup2, the inode number is the cgroup id */
	return 0;
}

static int cgroup_of_pid(struct pod_info *p, pid_t pid)
{
	char buf[8192], rel[PATH_MAX], path[PATH_MAX + 256];
	const char *mnt = cgroup2_mount();
	snprintf(buf, sizeof(buf), "/proc/%d/cgroup", pid);
	if (!mnt) {
		log_error("pod",
			  "attach: no cgroup v2 mount on this node (mount -t cgroup2 none /sys/fs/cgroup)\n");
		return -ENOENT;
	}
	int r = read_file(buf, buf, sizeof(buf));
	if (r < 0 || parse_proc_cgroup(buf, rel, sizeof(rel)) < 0) {
		log_error("pod", "attach: pod %s: pid %d has no cgroup v2 path\n", p->name, pid);
		return r < 0 ? r : -ENOENT;
	}
	pod_cgroup_trim(rel);
	snprintf(path, sizeof(path), "%s%s", mnt, rel);
	return set_cgroup(p, path);
}

void pod_info_init(struct pod_info *p, const char *ns, const char *node)
{
	memset(p, 0, sizeof(*p));
	p->netns_fd = -1;
	snprintf(p->namespace_, sizeof(p->namespace_), "%s", ns ? ns : "default");
	if (node || (node = getenv("NODE_NAME")))
		snprintf(p->node, sizeof(p->node), "%s", node);
	else if (gethostname(p->node, sizeof(p->node)) < 0)
		snprintf(p->node, sizeof(p->node), "unknown");
}

int pod_resolve(struct pod_info *p, const char *name, const char *ns, const char *node, const char *cgroup,
		const char *netns)
{
	pod_info_init(p, ns, node);

	if (!name && !cgroup) {
		log_error("pod", "attach: name the pod with --pod NAME (or give --cgroup and --netns)\n");
		return -EINVAL;
	}
	if (name) {
		snprintf(p->name, sizeof(p->name), "%s", name);
	} else {
		const char *base = strrchr(cgroup, '/');
		snprintf(p->name, sizeof(p->name), "%s", base && base[1] ? base + 1 : cgroup);
	}
	if (name && (!cgroup || !netns)) {
		pid_t pid = find_pod_pid(name);
		if (pid <= 0) {
			log_error("pod",
				  "attach: no pod '%s' on this node (no process has UTS hostname '%s'); "
				  "name it with --cgroup and --netns\n",
				  name, name);
			return -ESRCH;
		}
		p->pid = pid;
	}
	int err = cgroup ? set_cgroup(p, cgroup) : cgroup_of_pid(p, p->pid);
	if (err < 0)
		return err;
	if (netns)
		return open_netns(p, netns);
	if (p->pid) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/net", p->pid);
		return open_netns(p, path);
	}
	log_error("pod", "attach: --cgroup without --pod needs --netns too\n");
	return -EINVAL;
}

void pod_release(struct pod_info *p)
{
	if (p->netns_fd >= 0)
		close(p->netns_fd);
	p->netns_fd = -1;
}

int pod_in_netns(const struct pod_info *p, int (*fn)(void *arg), void *arg)
{
	return pod_in_netns_fd(p->netns_fd, fn, arg);
}

int pod_in_netns_fd(int netns_fd, int (*fn)(void *arg), void *arg)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(netns_fd, CLONE_NEWNET) < 0) {
		int e = errno;
		close(self);
		return -e;
	}
	int r = fn(arg);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Staying in the pod's namespace would silently move the agent's own sockets. */
		log_error("pod", "cannot return to the agent's network namespace: %s", strerror(errno));
		abort();
	}
	close(self);
	return r;
}

/* First pid listed in cgroup.procs of dir or of a directory below it (containers), skipping
 * `skip` pids already tried. */
static pid_t cgroup_pid(const char *dir, int depth, pid_t *tried, int ntried)
{
	char path[PATH_MAX + 16], buf[4096];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (read_file(path, buf, sizeof(buf)) > 0)
		for (char *sp, *t = strtok_r(buf, "\n", &sp); t; t = strtok_r(NULL, "\n", &sp)) {
			pid_t pid = atoi(t);
			bool seen = false;
			for (int i = 0; i < ntried; i++)
				seen |= tried[i] == pid;
			if (pid > 0 && !seen)
				return pid;
		}
	if (depth >= 2)
		return 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	pid_t found = 0;
	while (d && !found && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char sub[PATH_MAX];
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) < sizeof(sub))
			found = cgroup_pid(sub, depth + 1, tried, ntried);
	}
	if (d)
		closedir(d);
	return found;
}

static bool same_ns(pid_t pid, const char *type)
{
	char path[64], self[64];
	struct stat a, b;
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, type);
	snprintf(self, sizeof(self), "/proc/self/ns/%s", type);
	return stat(path, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino;
}

int pod_from_cgroup(struct pod_info *p, const char *cgroup_path, const char *ns, const char *node)
{
	char self_host[256] = "";
	pid_t tried[8];
	int ntried = 0;

	pod_info_init(p, ns, node);
	gethostname(self_host, sizeof(self_host));

	struct stat st;
	if (stat(cgroup_path, &st) < 0)
		return -errno;
	snprintf(p->cgroup_path, sizeof(p->cgroup_path), "%s", cgroup_path);
	p->cgroup_id = st.st_ino;
	/* A process that has just joined the pod's cgroup may not have entered the pod's
	 * namespaces yet (the runtime moves it in steps): such a process says nothing yet. */
	while (ntried < 8) {
		pid_t pid = cgroup_pid(cgroup_path, 0, tried, ntried);
		char host[sizeof(p->name)];
		if (pid <= 0)
			return -EAGAIN;
		tried[ntried++] = pid;
		if (same_ns(pid, "uts") || same_ns(pid, "net"))
			continue; /* not (yet) in the pod's namespaces; hostNetwork pods stay here */
		if (uts_hostname(pid, host, sizeof(host)) < 0 || !host[0] || !strcmp(host, self_host))
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		snprintf(p->name, sizeof(p->name), "%s", host);
		snprintf(p->netns_path, sizeof(p->netns_path), "%s", path);
		p->netns_fd = fd;
		p->pid = pid;
		return 0;
	}
	return -EAGAIN;
}
