/* SPDX-License-Identifier: GPL-2.0 */
/* The bounded buffer of chunks waiting for the collector's ack: memory first, then files in a
 * spool directory under a size cap; past both, the newest chunk is dropped and counted. The
 * spool only extends the buffer: after a restart the files are read again from the acked
 * checkpoint, so leftover spool files are deleted rather than sent twice. */
#ifndef OBSBPF_LOGS_SPOOL_H
#define OBSBPF_LOGS_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"

struct chunk {
	struct chunk *next;
	uint64_t seq;
	char id[25]; /* base64 of 16 random bytes: the Forward "chunk" option */
	uint32_t records;
	size_t len; /* payload bytes: concatenated [time, record] entries, gzip'd if gzip */
	char *data; /* NULL while the payload is in the spool */
	bool gzip;
	struct file_pos *pos; /* file offsets reached once this chunk and all before it are acked */
	int npos;
};

struct chunk_queue {
	struct chunk *head, *tail;
	size_t mem_bytes, mem_limit;
	size_t spool_bytes, spool_limit;
	const char *spool_dir; /* NULL: no spool */
	uint64_t chunks, records;
	uint64_t dropped_records, dropped_chunks, spooled_chunks, spool_errors;
};

/* Prepares the spool directory (created if missing, leftovers removed). */
int queue_init(struct chunk_queue *q, size_t mem_limit, const char *spool_dir, size_t spool_limit);
void queue_free(struct chunk_queue *q);
/* Takes ownership of c. Returns 0 (kept in memory: while memory is below its limit, or always
 * when !may_drop), 1 (spooled), or -ENOSPC: the buffer is full, c was freed and its records
 * counted as dropped. The caller allows dropping only while the collector is failing; otherwise
 * it pauses reading once queue_mem_full, so memory overshoots by at most what was being read. */
int queue_push(struct chunk_queue *q, struct chunk *c, bool may_drop);
/* Makes sure the head's payload is in memory (reads it back from the spool). */
int queue_load_head(struct chunk_queue *q);
/* Removes and returns the head (caller frees with chunk_free). */
struct chunk *queue_pop(struct chunk_queue *q);
bool queue_mem_full(const struct chunk_queue *q);
void chunk_free(struct chunk *c);

#endif
