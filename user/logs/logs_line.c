// SPDX-License-Identifier: GPL-2.0
/* One line read from a followed file: CRI pieces joined into their message, parsed, enriched
 * with the pod's metadata and packed into the current chunk. */
#include "logs_int.h"

#include <stdio.h>
#include <time.h>

#include "record.h"
#include "tail.h"

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool logs_on_line(void *arg, struct tail_file *f, const char *line, size_t len, bool truncated)
{
	struct logs *l = arg;
	const struct tail_file *file = f;
	uint64_t t;
	const char *stream = NULL;
	char sbuf[8];
	if (l->cur.size >= l->chunk_bytes)
		logs_flush_chunk(l); /* before this line: the chunk's offsets cover exactly its lines */
	struct logs_file_meta *pm = f->meta;
	if (pm) {
		pm->pod->lines++;
		pm->pod->truncated += truncated;
	}
	if (f->cri) {
		struct cri_line cl;
		if (cri_parse(line, len, &cl) == 0 ||
		    docker_json_parse(&l->parser, line, len, &cl, &l->docker_msg) == 0) {
			if (!f->cri_partial.len)
				f->cri_time_ns = cl.time_ns;
			if (cl.partial || f->cri_partial.len) {
				size_t room = l->max_line > f->cri_partial.len
					? l->max_line - f->cri_partial.len
					: 0;
				sb_append(&f->cri_partial, cl.msg, cl.msg_len < room ? cl.msg_len : room);
				/* the runtime splits a long line into pieces (16 KiB in containerd): the
				 * message is what must fit in --logs-max-line, and is counted once when not */
				if ((cl.msg_len > room || truncated) && !f->cri_truncated) {
					f->cri_truncated = true;
					l->cri_long_lines += !truncated; /* a cut piece is counted by tail */
				}
				if (cl.partial)
					return false; /* held until the "F" line completes the message */
				line = f->cri_partial.buf;
				len = f->cri_partial.len;
				truncated = f->cri_truncated;
			} else {
				line = cl.msg;
				len = cl.msg_len;
			}
			snprintf(sbuf, sizeof(sbuf), "%.*s", (int)cl.stream_len, cl.stream);
			stream = sbuf;
			t = f->cri_time_ns;
		} else {
			/* not CRI (nor docker's): forwarded as it is; pending "P" pieces keep waiting
			 * for their "F" */
			l->cri_errors++;
			if (pm)
				pm->pod->unparsed++;
			t = realtime_ns();
			f = NULL;
		}
	} else {
		t = realtime_ns();
	}
	struct log_parsed r;
	log_parse(&l->parser, line, len, &r);
	l->parse_errors += r.json_error;
	struct log_meta m = { .pod = l->pod.name,
			      .namespace_ = l->pod.namespace_,
			      .node = l->pod.node,
			      .container = file->container,
			      .file = file->name,
			      .stream = stream,
			      .truncated = truncated,
			      .fields = l->fields };
	if (pm) { /* daemon: the pod and container the kubelet's path names */
		m.pod = pm->pl.pod.name;
		m.namespace_ = pm->pl.pod.namespace_;
		m.uid = pm->pl.pod.uid;
		m.container = pm->pl.container;
		m.has_restart = true;
		m.restart = pm->pl.restart;
		m.k8s_keys = true;
	}
	l->invalid_utf8 += log_record_pack(&l->pk, t, line, len, &r, &m) > 0;
	l->cur_records++;
	l->records++;
	if (f && f->cri) {
		sb_reset(&f->cri_partial);
		f->cri_truncated = false;
	}
	/* with "P" pieces still pending, the checkpoint must stay before them */
	return !file->cri_partial.len;
}
