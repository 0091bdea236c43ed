/* SPDX-License-Identifier: GPL-2.0 */
/* The state file: how far each tailed file has been delivered. Written only after the collector
 * acked the records up to these offsets, atomically (temp file, fsync, rename, fsync of the
 * directory), so a kill -9 at any moment leaves either the old or the new state. */
#ifndef OBSBPF_LOGS_CHECKPOINT_H
#define OBSBPF_LOGS_CHECKPOINT_H

#include <stdint.h>

struct file_pos {
	uint64_t dev, ino;
	uint64_t off; /* bytes of the file delivered (always at a line boundary) */
	char *path;   /* for people reading the file; files are found again by dev+inode */
};

struct checkpoint {
	struct file_pos *pos;
	int n;
};

/* Loads path; a missing file is an empty checkpoint. Returns 0 or -errno (-EINVAL: corrupt). */
int checkpoint_load(const char *path, struct checkpoint *cp);
int checkpoint_save(const char *path, const struct file_pos *pos, int n);
/* Offset recorded for dev+inode, or -1. */
int64_t checkpoint_find(const struct checkpoint *cp, uint64_t dev, uint64_t ino);
void checkpoint_free(struct checkpoint *cp);

/* Deep copy / free of a file_pos array (chunks carry one). */
struct file_pos *file_pos_dup(const struct file_pos *p, int n);
void file_pos_free(struct file_pos *p, int n);

#endif
