// SPDX-License-Identifier: GPL-2.0
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void chunk_free(struct chunk *c)
{
	if (!c)
		return;
	free(c->data);
	file_pos_free(c->pos, c->npos);
	free(c);
}

static void spool_name(const struct chunk_queue *q, uint64_t seq, char *out, size_t n)
{
	snprintf(out, n, "%s/%020llu.chunk", q->spool_dir, (unsigned long long)seq);
}

int queue_init(struct chunk_queue *q, size_t mem_limit, const char *spool_dir, size_t spool_limit)
{
	memset(q, 0, sizeof(*q));
	q->mem_limit = mem_limit;
	q->spool_dir = spool_dir && *spool_dir ? spool_dir : NULL;
	q->spool_limit = q->spool_dir ? spool_limit : 0;
	if (!q->spool_dir)
		return 0;
	if (mkdir(q->spool_dir, 0700) && errno != EEXIST)
		return -errno;
	DIR *d = opendir(q->spool_dir);
	if (!d)
		return -errno;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 6 && !strcmp(e->d_name + l - 6, ".chunk"))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	return 0;
}

void queue_free(struct chunk_queue *q)
{
	struct chunk *c;
	while ((c = queue_pop(q)))
		chunk_free(c);
}

bool queue_mem_full(const struct chunk_queue *q)
{
	/* an empty queue takes at least one chunk, whatever the limit (0 means "one chunk") */
	return q->head && q->mem_bytes >= q->mem_limit;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int spool_out(struct chunk_queue *q, struct chunk *c)
{
	char path[PATH_MAX];
	spool_name(q, c->seq, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int err = write_all(fd, c->data, c->len);
	close(fd);
	if (err) {
		unlink(path);
		return err;
	}
	free(c->data);
	c->data = NULL;
	return 0;
}

static void append(struct chunk_queue *q, struct chunk *c)
{
	c->next = NULL;
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->chunks++;
	q->records += c->records;
}

int queue_push(struct chunk_queue *q, struct chunk *c, bool may_drop)
{
	/* memory may overshoot: readers pause once it is full (queue_mem_full), and what they had
	 * already read when it filled is kept unless the collector is failing */
	if (q->mem_bytes < q->mem_limit || !q->head || !may_drop) {
		q->mem_bytes += c->len;
		append(q, c);
		return 0;
	}
	if (q->spool_dir && q->spool_bytes + c->len <= q->spool_limit) {
		int err = spool_out(q, c);
		if (!err) {
			q->spool_bytes += c->len;
			q->spooled_chunks++;
			append(q, c);
			return 1;
		}
		q->spool_errors++;
	}
	q->dropped_chunks++;
	q->dropped_records += c->records;
	chunk_free(c);
	return -ENOSPC;
}

int queue_load_head(struct chunk_queue *q)
{
	struct chunk *c = q->head;
	if (!c || c->data)
		return 0;
	char path[PATH_MAX];
	spool_name(q, c->seq, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *buf = malloc(c->len ? c->len : 1);
	ssize_t n = buf ? read(fd, buf, c->len) : -1;
	close(fd);
	if (n != (ssize_t)c->len) {
		free(buf);
		return -EIO;
	}
	c->data = buf;
	/* it now counts against memory; its spool file goes when it is popped */
	q->spool_bytes -= c->len;
	q->mem_bytes += c->len;
	unlink(path);
	return 0;
}

struct chunk *queue_pop(struct chunk_queue *q)
{
	struct chunk *c = q->head;
	if (!c)
		return NULL;
	q->head = c->next;
	if (!q->head)
		q->tail = NULL;
	q->chunks--;
	q->records -= c->records;
	if (c->data) {
		q->mem_bytes -= c->len;
	} else {
		char path[PATH_MAX];
		spool_name(q, c->seq, path, sizeof(path));
		unlink(path);
		q->spool_bytes -= c->len;
	}
	c->next = NULL;
	return c;
}
