// SPDX-License-Identifier: GPL-2.0
#include "podlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !memcmp(s + n - k, suffix, k);
}

/* "<N>.log" or "<N>.log.<rotation>", rotation not compressed nor temporary. */
static int parse_file(const char *f, struct pod_log_file *out)
{
	char *end;
	size_t n = strlen(f);
	if (f[0] < '0' || f[0] > '9' || ends_with(f, n, ".gz") || ends_with(f, n, ".tmp"))
		return -EINVAL;
	unsigned long r = strtoul(f, &end, 10);
	if (r > 1000000 || strncmp(end, ".log", 4) || (end[4] && (end[4] != '.' || !end[5])))
		return -EINVAL;
	out->restart = (unsigned)r;
	out->rotated = end[4] == '.';
	return 0;
}

int pod_log_path_parse(const char *path, struct pod_log_file *out)
{
	const char *f = strrchr(path, '/');
	if (!f || f == path)
		return -EINVAL;
	const char *c = f - 1;
	while (c > path && *c != '/')
		c--;
	if (*c != '/' || c == path)
		return -EINVAL;
	const char *d = c - 1;
	while (d > path && *d != '/')
		d--;
	if (*d == '/')
		d++;
	size_t cl = (size_t)(f - c - 1), dl = (size_t)(c - d);
	char dir[512];
	if (!cl || cl >= sizeof(out->container) || dl >= sizeof(dir) || parse_file(f + 1, out))
		return -EINVAL;
	memcpy(out->container, c + 1, cl);
	out->container[cl] = '\0';
	memcpy(dir, d, dl);
	dir[dl] = '\0';
	return pod_logdir_parse(dir, &out->pod) ? -EINVAL : 0;
}

void pod_log_globs(const char *dir, char *a, char *b, unsigned long n)
{
	snprintf(a, n, "%s/*_*_*/*/*.log", dir);
	snprintf(b, n, "%s/*_*_*/*/*.log.*", dir);
}
