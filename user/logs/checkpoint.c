// SPDX-License-Identifier: GPL-2.0
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "obsbpf-logs-checkpoint 1\n"

void checkpoint_free(struct checkpoint *cp)
{
	file_pos_free(cp->pos, cp->n);
	cp->pos = NULL;
	cp->n = 0;
}

void file_pos_free(struct file_pos *p, int n)
{
	for (int i = 0; i < n; i++)
		free(p[i].path);
	free(p);
}

struct file_pos *file_pos_dup(const struct file_pos *p, int n)
{
	struct file_pos *d = calloc((size_t)n + 1, sizeof(*d));
	if (!d)
		return NULL;
	for (int i = 0; i < n; i++) {
		d[i] = p[i];
		d[i].path = strdup(p[i].path ? p[i].path : "");
		if (!d[i].path) {
			file_pos_free(d, i);
			return NULL;
		}
	}
	return d;
}

int checkpoint_load(const char *path, struct checkpoint *cp)
{
	cp->pos = NULL;
	cp->n = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	char line[PATH_MAX + 128];
	int err = 0, cap = 0;
	if (!fgets(line, sizeof(line), f) || strcmp(line, MAGIC)) {
		err = -EINVAL;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		struct file_pos p = { 0 };
		int used = 0;
		if (sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %n", &p.dev, &p.ino, &p.off, &used) !=
		    3) {
			err = -EINVAL;
			goto out;
		}
		line[strcspn(line, "\n")] = '\0';
		if (cp->n == cap) {
			cap = cap ? cap * 2 : 16;
			struct file_pos *np = realloc(cp->pos, (size_t)cap * sizeof(*np));
			if (!np) {
				err = -ENOMEM;
				goto out;
			}
			cp->pos = np;
		}
		p.path = strdup(line + used);
		if (!p.path) {
			err = -ENOMEM;
			goto out;
		}
		cp->pos[cp->n++] = p;
	}
out:
	fclose(f);
	if (err)
		checkpoint_free(cp);
	return err;
}

int64_t checkpoint_find(const struct checkpoint *cp, uint64_t dev, uint64_t ino)
{
	for (int i = 0; i < cp->n; i++)
		if (cp->pos[i].dev == dev && cp->pos[i].ino == ino)
			return (int64_t)cp->pos[i].off;
	return -1;
}

int checkpoint_save(const char *path, const struct file_pos *pos, int n)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int e = -errno;
		close(fd);
		return e;
	}
	fputs(MAGIC, f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", pos[i].dev, pos[i].ino, pos[i].off,
			pos[i].path ? pos[i].path : "");
	int err = 0;
	if (fflush(f) || fsync(fd))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	/* the rename itself is durable only once the directory is synced */
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd))
			err = -errno;
		close(dfd);
	}
	return err;
}
