/* SPDX-License-Identifier: GPL-2.0 */
/* For the logs unit tests: a chunk of len bytes, all of seq's letter ('a' + seq % 26), so that a
 * payload read back (from the spool) shows which chunk it is. */
#ifndef OBSBPF_TESTS_UNIT_LOGS_CHUNK_H
#define OBSBPF_TESTS_UNIT_LOGS_CHUNK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs/spool.h"

static inline struct chunk *mk_chunk(uint64_t seq, uint32_t records, size_t len)
{
	struct chunk *c = calloc(1, sizeof(*c));
	c->seq = seq;
	c->records = records;
	c->len = len;
	c->data = malloc(len);
	memset(c->data, (int)('a' + seq % 26), len);
	snprintf(c->id, sizeof(c->id), "chunk-%llu", (unsigned long long)seq);
	return c;
}

#endif
