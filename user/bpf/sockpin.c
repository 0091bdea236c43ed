// SPDX-License-Identifier: GPL-2.0
#include "sockpin.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define PIN_PREFIX "socks_" /* bpffs refuses names with a dot (EPERM) */

/* The start time of pid (clock ticks since boot, /proc/PID/stat field 22): with the pid, it names
 * one process for the whole uptime. 0 when pid does not run. */
static unsigned long long start_time(pid_t pid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* After the command name in parentheses (which may hold spaces and parentheses). */
	char *s = strrchr(buf, ')');
	if (!s)
		return 0;
	s++;
	for (int field = 3; field < 22 && s; field++)
		s = strchr(s + 1, ' ');
	return s ? strtoull(s + 1, NULL, 10) : 0;
}

int sockpin_pin(int map_fd, const char *dir, char *path, size_t n)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	int len = snprintf(path, n, "%s/" PIN_PREFIX "%d_%llu", dir, (int)getpid(), start_time(getpid()));
	if (len < 0 || (size_t)len >= n)
		return -ENAMETOOLONG;
	unlink(path); /* a pin of this very pid and start time is a leftover of nothing alive */
	/* Another agent leaving may have removed the directory, empty, since the mkdir. */
	if (bpf_obj_pin(map_fd, path) < 0 &&
	    (errno != ENOENT || mkdir(dir, 0700) < 0 || bpf_obj_pin(map_fd, path) < 0))
		return -errno;
	return 0;
}

long map_count_keys(int map_fd)
{
	unsigned char key[256], next[256];
	struct bpf_map_info info = { 0 };
	__u32 ilen = sizeof(info);
	if (bpf_obj_get_info_by_fd(map_fd, &info, &ilen) < 0)
		return -errno;
	if (info.key_size > sizeof(key))
		return -E2BIG;
	long count = 0;
	void *prev = NULL;
	while (bpf_map_get_next_key(map_fd, prev, next) == 0) {
		count++;
		memcpy(key, next, info.key_size);
		prev = key;
	}
	return errno == ENOENT ? count : -errno;
}

/* 1 when name is a pin of a process that still runs (its own agent keeps it), 0 when not, -1
 * when name is not one of ours. */
static int owner_alive(const char *name)
{
	int pid;
	unsigned long long st;
	char tail;
	if (sscanf(name, PIN_PREFIX "%d_%llu%c", &pid, &st, &tail) != 2 || pid <= 0)
		return -1;
	unsigned long long now = start_time(pid);
	return now && now == st;
}

long sockpin_reap(const char *dir, int *maps)
{
	if (maps)
		*maps = 0;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	long left = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (owner_alive(e->d_name) != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		int fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		long n = map_count_keys(fd);
		close(fd);
		if (n == 0) {
			unlink(path);
		} else if (n > 0) {
			left += n;
			if (maps)
				(*maps)++;
		}
	}
	closedir(d);
	return left;
}

void sockpin_tidy(const char *dir)
{
	rmdir(dir); /* fails, harmlessly, while anything is pinned in it */
}

long sockpin_release(int map_fd, const char *path)
{
	long n = map_count_keys(map_fd);
	if (n == 0 && unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return n;
}
