// SPDX-License-Identifier: GPL-2.0
#include "identity.h"
#include "kubepods.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int copy_part(char *out, size_t n, const char *s, size_t len)
{
	if (!len || len >= n)
		return -EINVAL;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int pod_logdir_parse(const char *d, struct pod_meta *out)
{
	const char *u1 = strchr(d, '_'), *u2 = strrchr(d, '_');
	if (!u1 || u1 == u2)
		return -EINVAL;
	if (copy_part(out->namespace_, sizeof(out->namespace_), d, (size_t)(u1 - d)) ||
	    copy_part(out->name, sizeof(out->name), u1 + 1, (size_t)(u2 - u1 - 1)) ||
	    copy_part(out->uid, sizeof(out->uid), u2 + 1, strlen(u2 + 1)))
		return -EINVAL;
	return 0;
}

int pod_meta_from_logs(void *ctx, const char *uid, struct pod_meta *out)
{
	const char *dir = ctx;
	if (!dir || !*dir)
		return -ENOENT;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? -ENOENT : -errno;
	size_t ul = strlen(uid);
	struct dirent *de;
	int err = -ENOENT;
	while (err && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		/* "_<uid>" at the end: the cheap test before the parse */
		if (n <= ul + 1 || de->d_name[n - ul - 1] != '_' || strcmp(de->d_name + n - ul, uid))
			continue;
		if (pod_logdir_parse(de->d_name, out) == 0 && !strcmp(out->uid, uid))
			err = 0;
	}
	closedir(d);
	return err;
}

int container_link_parse(const char *f, struct container_link *out)
{
	size_t n = strlen(f);
	if (n < 5 || strcmp(f + n - 4, ".log"))
		return -EINVAL;
	const char *u1 = strchr(f, '_'), *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
	const char *end = f + n - 4, *dash = NULL;
	if (!u2)
		return -EINVAL;
	for (const char *p = u2 + 1; p < end; p++)
		if (*p == '-')
			dash = p;
	if (!dash || memchr(u2 + 1, '_', (size_t)(end - u2 - 1)))
		return -EINVAL;
	if (copy_part(out->pod, sizeof(out->pod), f, (size_t)(u1 - f)) ||
	    copy_part(out->namespace_, sizeof(out->namespace_), u1 + 1, (size_t)(u2 - u1 - 1)) ||
	    copy_part(out->container, sizeof(out->container), u2 + 1, (size_t)(dash - u2 - 1)) ||
	    copy_part(out->id, sizeof(out->id), dash + 1, (size_t)(end - dash - 1)))
		return -EINVAL;
	return 0;
}

/* Names the containers of out[0..n) from the links in dir: one pass over the directory. */
static void name_containers(const char *dir, struct pod_container *out, int n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		struct container_link l;
		if (de->d_name[0] == '.' || container_link_parse(de->d_name, &l))
			continue;
		for (int i = 0; i < n; i++)
			if (!out[i].name[0] && !strcmp(out[i].id, l.id))
				snprintf(out[i].name, sizeof(out[i].name), "%s", l.container);
	}
	if (d)
		closedir(d);
}

int pod_containers(const char *cgroup_path, const char *links_dir, struct pod_container *out, int max)
{
	DIR *d = opendir(cgroup_path);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *de;
	while (n < max && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (kubepods_container_id(de->d_name, out[n].id, sizeof(out[n].id)) == 0)
			out[n++].name[0] = '\0';
	}
	closedir(d);
	if (links_dir && *links_dir && n)
		name_containers(links_dir, out, n);
	return n;
}
