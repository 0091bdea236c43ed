// SPDX-License-Identifier: GPL-2.0
/* Request streams (RFC 9113 5.1): opened by the client's HEADERS on a new stream, ended by the
 * server's END_STREAM (on the response's DATA or its trailers) or by RST_STREAM from either
 * side; each becomes one exchange. Streams the server opens (push) are not requests. */
#include "internal.h"

#include "grpc_status.h"
#include "util/array.h"

#include <stdio.h>
#include <string.h>

static struct h2_stream *find(struct h2_conn *c, uint32_t id)
{
	for (size_t i = 0; i < c->nstreams; i++)
		if (c->streams[i].id == id)
			return &c->streams[i];
	return NULL;
}

static void forget(struct h2_conn *c, struct h2_stream *s)
{
	*s = c->streams[--c->nstreams];
}

int h2_grpc_status(const struct h2_exchange *x)
{
	if (x->grpc_status >= 0)
		return x->grpc_status;
	if (x->reset)
		return grpc_status_from_rst(x->rst_code);
	/* A response without grpc-status: a proxy's or a server's HTTP error, mapped as gRPC does;
	 * a 200 without it is a broken call. */
	return x->status && x->status != 200 ? grpc_status_from_http(x->status) : GRPC_UNKNOWN;
}

const char *h2_grpc_code_name(int code)
{
	return grpc_code_name(code);
}

static void finish(struct h2_tracker *t, struct h2_conn *c, struct h2_stream *s, uint64_t end, bool reset,
		   uint32_t code)
{
	struct h2_exchange x = {
		.start_ns = s->start_ns,
		.end_ns = end > s->start_ns ? end : s->start_ns,
		.conn = c->cookie,
		.pod_id = c->pod_id,
		.stream = s->id,
		.dir = c->dir,
		.grpc = s->req.grpc,
		.reset = reset,
		.has_addrs = c->has_addrs,
		.tls = c->tls,
		.version = 2,
		.status = s->status,
		.grpc_status = s->grpc_status,
		.closed = s->closed,
		.rst_code = code,
		.has_traceparent = s->req.has_traceparent,
		.parent = s->req.parent,
		.kernel = s->kernel,
		.addrs = c->addrs,
	};
	memcpy(x.method, s->req.method, sizeof(x.method));
	memcpy(x.path, s->req.path, sizeof(x.path));
	memcpy(x.authority, s->req.authority, sizeof(x.authority));
	memcpy(x.grpc_message, s->grpc_message, sizeof(x.grpc_message));
	forget(c, s);
	t->st.exchanges++;
	if (t->fn)
		t->fn(t->arg, &x);
}

void h2_stream_headers(struct h2_tracker *t, struct h2_conn *c, uint32_t fc, uint32_t stream, bool end_stream,
		       uint64_t ts, const struct h2_fields *f, const struct obsbpf_trace *kernel)
{
	struct h2_stream *s = find(c, stream);
	if (fc) {
		/* From the client: a new request, or the trailers of one whose body was sent. */
		if (s) {
			s->req_done |= end_stream;
			return;
		}
		if (c->nstreams >= t->lim.max_streams ||
		    !array_grow((void **)&c->streams, &c->cap_streams, c->nstreams + 1,
				sizeof(*c->streams))) {
			t->st.streams_untracked++;
			return;
		}
		s = &c->streams[c->nstreams++];
		memset(s, 0, sizeof(*s));
		s->id = stream;
		s->start_ns = ts;
		s->req = *f;
		s->kernel = *kernel;
		s->req_done = end_stream;
		s->grpc_status = -1;
		return;
	}
	/* From the server: the response's head (informational ones do not count), or its trailers. */
	if (!s)
		return;
	if (f->status >= 200 || (f->status == 101 && !s->status))
		s->status = f->status;
	if (f->grpc_status >= 0) {
		s->grpc_status = f->grpc_status;
		memcpy(s->grpc_message, f->grpc_message, sizeof(s->grpc_message));
	}
	if (end_stream)
		finish(t, c, s, ts, false, 0);
}

void h2_stream_data_end(struct h2_tracker *t, struct h2_conn *c, uint32_t fc, uint32_t stream, uint64_t ts)
{
	struct h2_stream *s = find(c, stream);
	if (!s)
		return;
	if (fc)
		s->req_done = true;
	else
		finish(t, c, s, ts, false, 0);
}

void h2_stream_reset(struct h2_tracker *t, struct h2_conn *c, uint32_t stream, uint32_t code, uint64_t ts)
{
	struct h2_stream *s = find(c, stream);
	if (s)
		finish(t, c, s, ts, true, code);
}

/* A gRPC call the connection's close cut short, as both ends' libraries see it: the side that
 * ended the connection cancelled the call (CANCELLED); when the server's side ended it, the
 * client found the server gone (UNAVAILABLE). why: enum obsbpf_no_response, the pod's side's
 * view ("timeout": the pod's side closed first). */
static int16_t grpc_status_from_close(uint8_t dir, uint16_t why)
{
	bool pod_ended = why == OBSBPF_STATUS_TIMEOUT;
	bool server_ended = dir == OBSBPF_DIR_SERVER ? pod_ended : !pod_ended;
	return server_ended ? GRPC_UNAVAILABLE : GRPC_CANCELLED;
}

void h2_streams_unanswered(struct h2_tracker *t, struct h2_conn *c, uint16_t why, uint64_t end_ns)
{
	/* Backwards: finish() moves the last stream into the slot it frees. */
	for (size_t i = c->nstreams; i-- > 0;) {
		struct h2_stream *s = &c->streams[i];
		if (s->req.grpc) { /* a call ends with its trailers: every open one failed */
			s->grpc_status = grpc_status_from_close(c->dir, why);
			s->closed = why;
		} else if (!s->status) {
			s->status = why;
		} else {
			continue; /* a response under way: cut short, not measured */
		}
		finish(t, c, s, end_ns, false, 0);
	}
}

void h2_streams_clear(struct h2_tracker *t, struct h2_conn *c)
{
	t->st.streams_unfinished += c->nstreams;
	c->nstreams = 0;
}
