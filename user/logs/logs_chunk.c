// SPDX-License-Identifier: GPL-2.0
/* A chunk of records on its way: closed with an id (and gzipped), queued for the collector or
 * written to stdout as JSON lines, and once acked its offsets checkpointed. */
#include "logs_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "forward.h"
#include "loop/loop.h"
#include "record.h"
#include "tail.h"
#include "util/log.h"

static void chunk_id(char out[25])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char r[18] = { 0 };
	if (getrandom(r, 16, 0) != 16) {
		uint64_t t = loop_now_ns();
		memcpy(r, &t, sizeof(t));
	}
	int o = 0;
	for (int i = 0; i < 18; i += 3) {
		uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
		for (int k = 3; k >= 0; k--)
			out[o++] = b64[(v >> (6 * k)) & 63];
	}
	out[22] = out[23] = '='; /* 16 bytes: 22 characters and two of padding */
	out[24] = '\0';
}

/* Level 1: log text compresses well even so, and deflate is most of the CPU a chunk costs.
 * One deflate state for the agent's life (deflateReset per chunk): allocating it per chunk
 * left the heap fragmented and the RSS high. */
static int gzip_payload(struct logs *l, struct chunk *c)
{
	z_stream *z = &l->z;
	if (!l->z_ready) {
		if (deflateInit2(z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		l->z_ready = true;
	} else if (deflateReset(z) != Z_OK) {
		return -EIO;
	}
	uLong cap = deflateBound(z, c->len);
	char *out = malloc(cap);
	if (!out)
		return -ENOMEM;
	z->next_in = (Bytef *)c->data;
	z->avail_in = (uInt)c->len;
	z->next_out = (Bytef *)out;
	z->avail_out = (uInt)cap;
	if (deflate(z, Z_FINISH) != Z_STREAM_END) {
		free(out);
		return -EIO;
	}
	size_t n = z->total_out;
	char *shrunk = realloc(out, n ? n : 1);
	free(c->data);
	c->data = shrunk ? shrunk : out;
	c->len = n;
	c->gzip = true;
	return 0;
}

void logs_on_acked(void *arg, struct chunk *c)
{
	struct logs *l = arg;
	/* chunks are acked in order, so this chunk's offsets cover everything acked so far */
	int err = checkpoint_save(l->state_path, c->pos, c->npos);
	if (err) {
		if (!l->checkpoint_errors++)
			log_error("logs", "logs: checkpoint %s: %s\n", l->state_path, strerror(-err));
	} else {
		l->checkpoints++;
	}
	chunk_free(c);
	tail_kick(l->tail);
}

static void write_stdout(struct logs *l, const struct chunk *c)
{
	struct strbuf sb;
	sb_init(&sb);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	while (msgpack_unpack_next(&u, c->data, c->len, &off) == MSGPACK_UNPACK_SUCCESS) {
		if (log_entry_to_json(&u.data, &sb) == 0) {
			sb_putc(&sb, '\n');
			l->stdout_records++;
		}
	}
	msgpack_unpacked_destroy(&u);
	for (size_t done = 0; done < sb.len;) {
		ssize_t w = write(STDOUT_FILENO, sb.buf + done, sb.len - done);
		if (w <= 0 && errno != EINTR)
			break;
		if (w > 0)
			done += (size_t)w;
	}
	l->stdout_bytes += sb.len;
	sb_free(&sb);
}

void logs_flush_chunk(struct logs *l)
{
	if (!l->cur_records)
		return;
	struct chunk *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->seq = ++l->seq;
	chunk_id(c->id);
	c->records = l->cur_records;
	c->len = l->cur.size;
	c->data = msgpack_sbuffer_release(&l->cur);
	l->cur_records = 0;
	int n = tail_positions(l->tail, &c->pos);
	c->npos = n < 0 ? 0 : n;
	if (l->to_stdout) {
		write_stdout(l, c);
		logs_on_acked(l, c);
		return;
	}
	if (l->gzip)
		gzip_payload(l, c); /* on failure the chunk goes uncompressed */
	/* -ENOSPC: dropped and counted by the queue (only while the collector is failing) */
	queue_push(&l->q, c, forward_stats(l->fwd)->failing);
	forward_kick(l->fwd);
}
