// SPDX-License-Identifier: GPL-2.0
/* The Forward connection: connect, (handshake,) send the head chunk, wait for its ack. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "forward.h"
#include "loop/loop.h"
#include "util/log.h"
#include "util/backoff.h"

enum fstate {
	F_DOWN,
	F_CONNECTING,
	F_HELO,
	F_PONG,
	F_READY,
	F_SENDING,
	F_ACK
};
enum ftimer {
	T_NONE,
	T_RETRY,
	T_DEADLINE
};

/* A Forward server sends only acks and the handshake, each well under 1 KiB: a reply that
 * announces more is not one. Replies are measured from their msgpack headers before msgpack
 * parses them: a garbage str32 header had its streaming unpacker buffer everything that
 * followed, and a map32 header made it allocate what the header claimed. */
#define MAX_REPLY_BYTES (64 * 1024)
/* Reads per readiness event: a peer that streams faster than we parse must not keep the loop
 * (tailing, /metrics) from turning; the fd stays readable and we come back. */
#define MAX_READS_PER_EVENT 16

struct forward {
	struct loop *loop;
	struct forward_opts o;
	struct chunk_queue *q;
	forward_acked_fn acked;
	void *arg;
	enum fstate state;
	int fd;
	struct loop_watch *w, *timer;
	enum ftimer tpurpose;
	msgpack_sbuffer pre, post;
	size_t sent;
	struct chunk *cur;
	uint8_t rbuf[MAX_REPLY_BYTES]; /* replies read and not handled yet */
	size_t rlen;
	struct forward_scan scan; /* how far the reply at rbuf[0] has been walked */
	unsigned attempt;
	char salt[33], nonce[256];
	size_t nonce_len;
	struct forward_stats st;
};

static void fail(struct forward *f, const char *why);

static void set_timer(struct forward *f, enum ftimer p, unsigned ms)
{
	f->tpurpose = p;
	loop_timer_rearm(f->timer, ms ? ms : 1, 0);
}

static void close_conn(struct forward *f)
{
	if (f->w)
		loop_remove(f->w);
	f->w = NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->cur = NULL;
	f->st.connected = false;
	f->state = F_DOWN;
}

static unsigned retry_ms(struct forward *f)
{
	return (unsigned)backoff_ms(f->attempt + 1, f->o.retry_min_ms, f->o.retry_max_ms, backoff_rnd());
}

static void fail(struct forward *f, const char *why)
{
	if (f->o.host && why && f->attempt == 0)
		log_warn("logs", "logs: forward %s:%s: %s; retrying\n", f->o.host, f->o.port, why);
	close_conn(f);
	f->st.retries++;
	f->st.failing = true;
	set_timer(f, T_RETRY, retry_ms(f));
	f->attempt++;
}

static void start_send(struct forward *f)
{
	if (f->state != F_READY || !f->q->head)
		return;
	int err = queue_load_head(f->q);
	if (err) {
		/* the spooled payload is gone: count it as dropped rather than block forever */
		struct chunk *c = queue_pop(f->q);
		f->q->dropped_chunks++;
		f->q->dropped_records += c->records;
		f->q->spool_errors++;
		f->acked(f->arg, c);
		start_send(f);
		return;
	}
	f->cur = f->q->head;
	msgpack_sbuffer_clear(&f->pre);
	msgpack_sbuffer_clear(&f->post);
	forward_frame(f->o.tag, f->cur, f->o.packed, &f->pre, &f->post);
	f->sent = 0;
	f->state = F_SENDING;
	/* A collector that accepts and never reads would leave a chunk larger than the socket
	 * buffers half-sent for ever: the send must make progress within the ack timeout. */
	set_timer(f, T_DEADLINE, f->o.ack_timeout_ms);
	loop_mod_fd(f->w, EPOLLIN | EPOLLOUT);
}

static void do_write(struct forward *f)
{
	size_t total = f->pre.size + f->cur->len + f->post.size;
	while (f->sent < total) {
		struct iovec iov[3];
		int n = 0;
		size_t s = f->sent;
		const char *parts[3] = { f->pre.data, f->cur->data, f->post.data };
		size_t lens[3] = { f->pre.size, f->cur->len, f->post.size };
		for (int i = 0; i < 3; i++) {
			if (s >= lens[i]) {
				s -= lens[i];
				continue;
			}
			iov[n++] = (struct iovec){ (void *)(parts[i] + s), lens[i] - s };
			s = 0;
		}
		ssize_t w = writev(f->fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w < 0) {
			fail(f, strerror(errno));
			return;
		}
		f->sent += (size_t)w;
		if (w > 0)
			set_timer(f, T_DEADLINE, f->o.ack_timeout_ms); /* slow but moving: not stalled */
	}
	f->state = F_ACK;
	loop_mod_fd(f->w, EPOLLIN);
	set_timer(f, T_DEADLINE, f->o.ack_timeout_ms);
}

static int send_small(struct forward *f, const msgpack_sbuffer *b)
{
	/* the handshake messages are tiny; a fresh socket's buffer always takes them whole */
	ssize_t w = send(f->fd, b->data, b->size, MSG_NOSIGNAL);
	return w == (ssize_t)b->size ? 0 : -EIO;
}

static void on_ack(struct forward *f)
{
	struct chunk *c = queue_pop(f->q);
	f->st.records += c->records;
	f->st.bytes += f->pre.size + c->len + f->post.size;
	f->st.chunks++;
	f->attempt = 0;
	f->st.failing = false;
	f->cur = NULL;
	f->state = F_READY;
	f->tpurpose = T_NONE;
	loop_mod_fd(f->w, EPOLLIN);
	f->acked(f->arg, c);
	start_send(f);
}

static void handle_msg(struct forward *f, const msgpack_object *o)
{
	if (f->state == F_HELO) {
		char auth[256];
		size_t al;
		if (forward_parse_helo(o, f->nonce, sizeof(f->nonce), &f->nonce_len, auth, sizeof(auth),
				       &al)) {
			fail(f, "malformed HELO");
			return;
		}
		msgpack_sbuffer b;
		msgpack_sbuffer_init(&b);
		msgpack_packer pk;
		msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
		forward_pack_ping(&pk, f->o.self_hostname, f->salt, f->nonce, f->nonce_len, f->o.shared_key);
		int err = send_small(f, &b);
		msgpack_sbuffer_destroy(&b);
		if (err) {
			fail(f, "sending PING failed");
			return;
		}
		f->state = F_PONG;
	} else if (f->state == F_PONG) {
		char reason[256];
		if (forward_check_pong(o, f->salt, f->nonce, f->nonce_len, f->o.shared_key, reason,
				       sizeof(reason))) {
			if (f->st.auth_failures++ == 0) /* once: it is retried with backoff */
				log_error("logs", "logs: forward %s:%s: handshake refused: %s\n", f->o.host,
					  f->o.port, reason);
			fail(f, NULL);
			return;
		}
		f->state = F_READY;
		f->tpurpose = T_NONE;
		f->st.connected = true;
		start_send(f);
	} else if (f->state == F_ACK && forward_is_ack(o, f->cur->id)) {
		on_ack(f);
	}
	/* anything else (a stale ack of a chunk sent on an earlier connection) is ignored */
}

/* Handles the complete replies at the start of rbuf; false when the connection failed. */
static bool handle_replies(struct forward *f)
{
	size_t off = 0, n;
	int r = 0;
	while (f->state != F_DOWN) {
		r = forward_reply_scan_more(&f->scan, f->rbuf + off, f->rlen - off, MAX_REPLY_BYTES, &n);
		if (r != 1)
			break;
		msgpack_unpacked u;
		msgpack_unpacked_init(&u);
		/* a whole object of at most 64 KiB: msgpack allocates no more than it describes */
		if (msgpack_unpack_next(&u, (const char *)f->rbuf + off, n, NULL) != MSGPACK_UNPACK_SUCCESS) {
			msgpack_unpacked_destroy(&u);
			r = -EPROTO;
			break;
		}
		off += n;
		handle_msg(f, &u.data);
		msgpack_unpacked_destroy(&u);
	}
	if (f->state == F_DOWN)
		return false;
	if (r < 0) {
		f->st.bad_replies++;
		fail(f, r == -E2BIG ? "response too large" : "unreadable response");
		return false;
	}
	memmove(f->rbuf, f->rbuf + off, f->rlen - off);
	f->rlen -= off;
	return true;
}

static void do_read(struct forward *f)
{
	for (int reads = 0; reads < MAX_READS_PER_EVENT; reads++) {
		ssize_t n = read(f->fd, f->rbuf + f->rlen, sizeof(f->rbuf) - f->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (f->state == F_READY && !f->q->head) {
				close_conn(
					f); /* an idle connection closed by the server: reconnect when needed */
				return;
			}
			fail(f, n == 0 ? "connection closed by the server" : strerror(errno));
			return;
		}
		f->rlen += (size_t)n;
		if (!handle_replies(f) || f->fd < 0)
			return;
	}
}

static void on_io(void *arg, uint32_t ev)
{
	struct forward *f = arg;
	if (f->state == F_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);
		if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &l) || err) {
			fail(f, strerror(err ? err : errno));
			return;
		}
		f->st.connects++;
		if (f->o.shared_key) {
			f->state = F_HELO;
			loop_mod_fd(f->w, EPOLLIN);
			return;
		}
		f->state = F_READY;
		f->tpurpose = T_NONE;
		f->st.connected = true;
		loop_mod_fd(f->w, EPOLLIN);
		start_send(f);
		return;
	}
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
		do_read(f);
	if (f->state == F_SENDING && (ev & EPOLLOUT))
		do_write(f);
}

static void connect_now(struct forward *f)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *ai = NULL;
	int err = getaddrinfo(f->o.host, f->o.port, &hints, &ai);
	if (err) {
		fail(f, gai_strerror(err));
		return;
	}
	f->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0) {
		freeaddrinfo(ai);
		fail(f, strerror(errno));
		return;
	}
	int one = 1;
	setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int r = connect(f->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (r && errno != EINPROGRESS) {
		fail(f, strerror(errno));
		return;
	}
	f->rlen = 0;
	f->scan = (struct forward_scan){ 0 };
	unsigned char rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	for (int i = 0; i < 16; i++)
		snprintf(f->salt + 2 * i, 3, "%02x", rnd[i]);
	f->w = loop_add_fd(f->loop, f->fd, EPOLLOUT, on_io, f);
	if (!f->w) {
		fail(f, strerror(errno));
		return;
	}
	f->state = F_CONNECTING;
	set_timer(f, T_DEADLINE, f->o.ack_timeout_ms);
}

static void on_timer(void *arg)
{
	struct forward *f = arg;
	enum ftimer p = f->tpurpose;
	f->tpurpose = T_NONE;
	if (p == T_RETRY && f->state == F_DOWN)
		connect_now(f);
	else if (p == T_DEADLINE && f->state != F_DOWN && f->state != F_READY) {
		f->st.ack_timeouts += f->state == F_ACK;
		f->st.send_timeouts += f->state == F_SENDING;
		fail(f,
		     f->state == F_ACK		     ? "no ack within the timeout"
			     : f->state == F_SENDING ? "the collector stopped reading (send timed out)"
						     : "timed out");
	}
}

void forward_kick(struct forward *f)
{
	if (f->state == F_DOWN && f->tpurpose != T_RETRY && f->q->head)
		connect_now(f);
	else if (f->state == F_READY)
		start_send(f);
}

struct forward *forward_new(struct loop *l, const struct forward_opts *o, struct chunk_queue *q,
			    forward_acked_fn acked, void *arg)
{
	struct forward *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->loop = l;
	f->o = *o;
	f->q = q;
	f->acked = acked;
	f->arg = arg;
	f->fd = -1;
	msgpack_sbuffer_init(&f->pre);
	msgpack_sbuffer_init(&f->post);
	f->timer = loop_add_timer(l, 3600 * 1000, 0, on_timer, f);
	if (!f->timer) {
		forward_free(f);
		return NULL;
	}
	return f;
}

void forward_free(struct forward *f)
{
	if (!f)
		return;
	close_conn(f);
	loop_remove(f->timer);
	msgpack_sbuffer_destroy(&f->pre);
	msgpack_sbuffer_destroy(&f->post);
	free(f);
}

const struct forward_stats *forward_stats(const struct forward *f)
{
	return &f->st;
}
