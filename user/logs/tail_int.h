/* SPDX-License-Identifier: GPL-2.0 */
/* Private to tail_*.c: the tail state shared by the file reader and the watcher. */
#ifndef OBSBPF_LOGS_TAIL_INT_H
#define OBSBPF_LOGS_TAIL_INT_H

#include "tail.h"

struct loop_watch;

struct tail {
	struct loop *loop;
	struct tail_opts o;
	tail_line_fn fn;
	tail_accept_fn ok;
	void *arg;
	struct tail_file *files;
	struct tail_stats st;
	int ifd; /* inotify */
	int dir_wd[4];
	int efd; /* eventfd: "there may be more to read" */
	struct loop_watch *iw, *ew, *timer;
	bool paused;
	unsigned gen; /* scan generation: files not marked by the last scan are gone */
};

#define TAIL_FILE_BUDGET     (1u << 20)	   /* bytes read from one file per loop turn */
#define TAIL_ROTATE_GRACE_NS 1000000000ull /* keep reading a rotated file this long */

/* tail_file.c */
struct tail_file *tail_file_open(struct tail *t, const char *path, bool cri, const struct stat *st);
void tail_file_close(struct tail *t, struct tail_file *f);
/* Reads up to budget bytes; returns true when more may be waiting (budget used up). */
bool tail_file_read(struct tail *t, struct tail_file *f, size_t budget);
/* Emits an unterminated last line (a drained rotated file). */
void tail_file_flush_partial(struct tail *t, struct tail_file *f);

#endif
