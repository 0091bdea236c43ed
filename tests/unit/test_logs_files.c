// SPDX-License-Identifier: GPL-2.0
/* The files log forwarding reads and writes: checkpoint files, the chunk buffer with its spool,
 * and the file reader (lines, long lines, truncation, resume). Fluent Forward itself is
 * test_logs_forward.c's. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "logs/checkpoint.h"
#include "logs/podlog.h"
#include "logs/spool.h"
#include "logs/tail.h"
#include "logs_chunk.h"

static char dir[64];

static int mkdir_tmp(void **st)
{
	(void)st;
	strcpy(dir, "/tmp/obsbpf-unit-logs.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int rm_tmp(void **st)
{
	(void)st;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_checkpoint_roundtrip(void **st)
{
	(void)st;
	char path[128], tmp[140];
	snprintf(path, sizeof(path), "%s/state", dir);
	struct checkpoint cp;
	assert_int_equal(checkpoint_load(path, &cp), 0); /* missing: empty */
	assert_int_equal(cp.n, 0);
	struct file_pos pos[2] = { { 2049, 77, 123, (char *)"/var/log/app/a b.log" },
				   { 2049, 78, 0, (char *)"/var/log/app/c.log" } };
	assert_int_equal(checkpoint_save(path, pos, 2), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1); /* renamed into place */
	assert_int_equal(checkpoint_load(path, &cp), 0);
	assert_int_equal(cp.n, 2);
	assert_int_equal(checkpoint_find(&cp, 2049, 77), 123);
	assert_int_equal(checkpoint_find(&cp, 2049, 78), 0);
	assert_int_equal(checkpoint_find(&cp, 2050, 77), -1);
	assert_string_equal(cp.pos[0].path, "/var/log/app/a b.log");
	checkpoint_free(&cp);
	FILE *f = fopen(path, "w");
	fputs("something else\n", f);
	fclose(f);
	assert_int_equal(checkpoint_load(path, &cp), -EINVAL);
}

static void test_queue_memory_spool_drop(void **st)
{
	(void)st;
	char spool[128];
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	struct chunk_queue q;
	assert_int_equal(queue_init(&q, 0, NULL, 0), 0);
	assert_false(queue_mem_full(&q)); /* an empty queue always takes a chunk */
	assert_int_equal(queue_push(&q, mk_chunk(1, 1, 10), true), 0);
	assert_true(queue_mem_full(&q));
	queue_free(&q);
	assert_int_equal(queue_init(&q, 1000, spool, 1000), 0);
	assert_int_equal(queue_push(&q, mk_chunk(1, 10, 600), true), 0);
	assert_int_equal(queue_push(&q, mk_chunk(2, 10, 600), true), 0); /* overshoots by one chunk */
	assert_true(queue_mem_full(&q));
	assert_int_equal(queue_push(&q, mk_chunk(3, 10, 600), true), 1);      /* memory full: spooled */
	assert_int_equal(queue_push(&q, mk_chunk(4, 10, 300), true), 1);      /* spool: 900 of 1000 */
	assert_int_equal(queue_push(&q, mk_chunk(5, 7, 300), true), -ENOSPC); /* both full: dropped */
	assert_int_equal(queue_push(&q, mk_chunk(5, 3, 300), false), 0);      /* a healthy collector: kept */
	assert_int_equal(q.dropped_records, 7);
	assert_int_equal(q.records, 43);
	assert_int_equal(q.spool_bytes, 900);
	assert_int_equal(q.mem_bytes, 1500);
	/* FIFO order, spooled payloads read back intact */
	for (uint64_t want = 1; want <= 5; want++) {
		assert_int_equal(queue_load_head(&q), 0);
		struct chunk *c = queue_pop(&q);
		assert_non_null(c);
		assert_int_equal(c->seq, want);
		assert_non_null(c->data);
		assert_int_equal(c->data[c->len - 1], (char)('a' + want % 26));
		chunk_free(c);
	}
	assert_null(queue_pop(&q));
	assert_int_equal(q.mem_bytes, 0);
	assert_int_equal(q.spool_bytes, 0);
	/* leftovers of an earlier run are removed at start */
	assert_int_equal(queue_push(&q, mk_chunk(6, 1, 1000), true), 0);
	assert_int_equal(queue_push(&q, mk_chunk(7, 1, 2000), true), -ENOSPC); /* bigger than the spool */
	queue_free(&q);
	char stale[160];
	snprintf(stale, sizeof(stale), "%s/00000000000000000009.chunk", spool);
	fclose(fopen(stale, "w"));
	assert_int_equal(queue_init(&q, 1000, spool, 1000), 0);
	assert_int_equal(access(stale, F_OK), -1);
	queue_free(&q);
}

struct seen {
	char lines[16][80];
	bool truncated[16];
	int n;
};

static bool on_line(void *arg, struct tail_file *f, const char *line, size_t len, bool truncated)
{
	struct seen *s = arg;
	(void)f;
	if (s->n < 16) {
		snprintf(s->lines[s->n], sizeof(s->lines[0]), "%.*s", (int)len, line);
		s->truncated[s->n++] = truncated;
	}
	return true;
}

static void append(const char *path, const char *s)
{
	FILE *f = fopen(path, "a");
	fputs(s, f);
	fclose(f);
}

static void test_tail_lines_truncation_resume(void **st)
{
	(void)st;
	char path[128], glob[128];
	snprintf(path, sizeof(path), "%s/x.log", dir);
	snprintf(glob, sizeof(glob), "%s/*.log", dir);
	append(path, "one\r\ntwo\nthis line is far too long\nthr");
	struct seen s = { .n = 0 };
	struct tail_opts o = { .globs = { glob }, .max_line = 16 };
	struct tail *t = tail_new(NULL, &o, on_line, NULL, &s);
	assert_non_null(t);
	tail_poll(t);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.lines[0], "one");
	assert_string_equal(s.lines[1], "two");
	assert_string_equal(s.lines[2], "this line is far");
	assert_true(s.truncated[2]);
	assert_int_equal(tail_stats(t)->long_lines, 1);
	append(path, "ee\n");
	tail_poll(t);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.lines[3], "three");
	struct file_pos *pos;
	assert_int_equal(tail_positions(t, &pos), 1);
	assert_int_equal(pos[0].off, strlen("one\r\ntwo\nthis line is far too long\nthree\n"));
	/* copytruncate: cut to zero, then new lines from the start */
	assert_int_equal(truncate(path, 0), 0);
	append(path, "four\n");
	tail_poll(t);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.lines[4], "four");
	assert_int_equal(tail_stats(t)->truncations, 1);
	tail_free(t);

	/* a restart at a checkpoint reads only what follows it */
	append(path, "five\n");
	struct checkpoint cp = { .pos = pos, .n = 1 };
	pos[0].off = 5;
	o.start = &cp;
	s.n = 0;
	t = tail_new(NULL, &o, on_line, NULL, &s);
	tail_poll(t);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.lines[0], "five");
	tail_free(t);
	file_pos_free(pos, 1);
	unlink(path);
}

/* Daemon mode's files: the kubelet's layout, rotated its way (the current log renamed to
 * <n>.log.<time>, still written through the runtime's fd until it reopens, later gzipped and the
 * original removed), through a restart: every line once. */
static void *pod_file(void *arg, const char *path)
{
	struct pod_log_file pl;
	(void)arg;
	return pod_log_path_parse(path, &pl) ? NULL : strdup(path);
}

static void pod_file_free(void *arg, void *meta)
{
	(void)arg;
	free(meta);
}

static bool count_line(void *arg, struct tail_file *f, const char *line, size_t len, bool truncated)
{
	unsigned *seen = arg;
	(void)truncated;
	assert_non_null(f->meta);
	int i = atoi(line);
	assert_true(len > 0 && i > 0 && i < 64);
	seen[i]++;
	return true;
}

static void put_lines(FILE *f, int from, int to)
{
	for (int i = from; i <= to; i++)
		fprintf(f, "%d\n", i);
	fflush(f);
}

static void test_tail_kubelet_rotation(void **st)
{
	(void)st;
	char pods[128], cdir[160], cur[200], rot1[220], rot2[220], gz[230], g1[200], g2[200];
	snprintf(pods, sizeof(pods), "%s/pods", dir);
	snprintf(cdir, sizeof(cdir), "%s/shop_web-1_uid-1", pods);
	assert_int_equal(mkdir(pods, 0700), 0);
	assert_int_equal(mkdir(cdir, 0700), 0);
	strcat(cdir, "/app");
	assert_int_equal(mkdir(cdir, 0700), 0);
	snprintf(cur, sizeof(cur), "%s/0.log", cdir);
	snprintf(rot1, sizeof(rot1), "%s/0.log.20240501-100000", cdir);
	snprintf(rot2, sizeof(rot2), "%s/0.log.20240501-100100", cdir);
	snprintf(gz, sizeof(gz), "%s.gz", rot1);
	pod_log_globs(pods, g1, g2, sizeof(g1));
	unsigned seen[64] = { 0 };
	struct tail_opts o = {
		.globs = { g1, g2 }, .max_line = 64, .meta = pod_file, .meta_free = pod_file_free
	};
	FILE *w = fopen(cur, "a");
	put_lines(w, 1, 5);
	struct tail *t = tail_new(NULL, &o, count_line, NULL, seen);
	assert_non_null(t);
	tail_poll(t);
	/* rotation: renamed, written on through the old fd, then the runtime reopens 0.log */
	assert_int_equal(rename(cur, rot1), 0);
	put_lines(w, 6, 8);
	fclose(w);
	w = fopen(cur, "a");
	put_lines(w, 9, 12);
	tail_poll(t);
	assert_int_equal(tail_stats(t)->files_open, 2); /* the rotated file is followed under its name */
	/* the kubelet compresses the older rotation and removes it: never read as a new file */
	FILE *z = fopen(gz, "w");
	fputs("\x1f\x8b not lines", z);
	fclose(z);
	assert_int_equal(unlink(rot1), 0);
	tail_poll(t);
	struct file_pos *pos;
	int n = tail_positions(t, &pos);
	tail_free(t);
	for (int i = 1; i <= 12; i++)
		assert_int_equal(seen[i], 1);

	/* down: more lines, and a rotation, while no agent runs; the restart resumes the renamed
	 * file at its checkpoint (same inode) and reads the new one from its start */
	put_lines(w, 13, 15);
	fclose(w);
	assert_int_equal(rename(cur, rot2), 0);
	w = fopen(cur, "a");
	put_lines(w, 16, 18);
	fclose(w);
	struct checkpoint cp = { .pos = pos, .n = n };
	o.start = &cp;
	t = tail_new(NULL, &o, count_line, NULL, seen);
	tail_poll(t);
	tail_free(t);
	file_pos_free(pos, n);
	for (int i = 1; i <= 18; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(seen[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checkpoint_roundtrip),
		cmocka_unit_test(test_queue_memory_spool_drop),
		cmocka_unit_test(test_tail_lines_truncation_resume),
		cmocka_unit_test(test_tail_kubelet_rotation),
	};
	return cmocka_run_group_tests(tests, mkdir_tmp, rm_tmp);
}
