/* SPDX-License-Identifier: GPL-2.0 */
/* Following log files: glob patterns rescanned on inotify events and on a 1 s poll, each file
 * read through its own fd and identified by device+inode, so that rotation by rename (the old
 * inode is drained, the new file read from its start) and copytruncate (the size drops below
 * the read position: read again from 0) lose and repeat nothing the writer did not. */
#ifndef OBSBPF_LOGS_TAIL_H
#define OBSBPF_LOGS_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "util/strbuf.h"

struct loop;

struct tail_file {
	struct tail_file *next;
	char *path;	    /* as opened (may carry a /proc/PID/root prefix) */
	const char *name;   /* path as the pod sees it: the "file" field */
	char container[64]; /* CRI files: the container name from the file name */
	bool cri;
	int fd, wd;
	uint64_t dev, ino;
	uint64_t commit_off; /* end of the last line that completed a record */
	uint64_t read_off;   /* end of what was read (commit_off + pending bytes) */
	char *buf;	     /* pending bytes of an unfinished line (or lines) */
	size_t len;
	bool skipping; /* dropping the rest of an over-long line */
	bool rotated;  /* its path now names another file (or none): drain, then close */
	uint64_t rotated_ns;
	unsigned gen;		   /* the last scan that found it under a matching name */
	void *meta;		   /* what tail_opts.meta said for the file, or NULL */
	struct strbuf cri_partial; /* CRI "P" pieces waiting for their "F" */
	bool cri_truncated;	   /* ... more of them than --logs-max-line: the rest dropped */
	uint64_t cri_time_ns;
};

/* Called for each complete line. Returns true when the line completed a record (its end may be
 * checkpointed), false when it was held back (a CRI partial line). `truncated`: the line was
 * longer than max_line and only its first max_line bytes are given. */
typedef bool (*tail_line_fn)(void *arg, struct tail_file *f, const char *line, size_t len, bool truncated);
/* Asked before each read: false pauses reading (the output is backed up); tail_kick resumes. */
typedef bool (*tail_accept_fn)(void *arg);

/* Asked for each file a scan finds that is not followed yet: what the line callback will find
 * in f->meta (freed with meta_free when the file is closed), or NULL to leave the file alone
 * (it is asked again at the next scan). */
typedef void *(*tail_meta_fn)(void *arg, const char *path);
typedef void (*tail_meta_free_fn)(void *arg, void *meta);

struct tail_opts {
	const char *globs[4]; /* NULL-terminated */
	bool cri[4];	      /* globs[i] names CRI-format files */
	bool rooted[4];	      /* globs[i] is resolved under root (the pod's mount namespace) */
	const char *root;     /* "/proc/PID/root", or NULL */
	size_t max_line;
	unsigned max_files;		/* files followed at once (0: no limit); more matches wait */
	const struct checkpoint *start; /* where to resume known files */
	tail_meta_fn meta;		/* NULL: every match is followed, with no meta */
	tail_meta_free_fn meta_free;
};

struct tail_stats {
	uint64_t lines, bytes, long_lines, truncations, rotations, files_opened;
	int files_open;
	unsigned files_waiting; /* matched by the last scan but not followed: max_files reached */
};

struct tail *tail_new(struct loop *l, const struct tail_opts *o, tail_line_fn fn, tail_accept_fn ok,
		      void *arg);
void tail_free(struct tail *t);
/* Reads what is available now (used by tests; the loop calls it itself). */
void tail_poll(struct tail *t);
void tail_kick(struct tail *t);
/* Commit offsets of every open file (for a chunk's checkpoint); caller frees with file_pos_free. */
int tail_positions(struct tail *t, struct file_pos **out);
const struct tail_stats *tail_stats(const struct tail *t);

#endif
