// SPDX-License-Identifier: GPL-2.0
#include "ctl.h"
#include "util/log.h"

#include "loop/loop.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fnmatch.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CLIENTS 32
#define REQ_MAX	    512
#define OUT_MAX	    (1u << 20)		    /* queued bytes per client before lines are dropped */
#define STALL_NS    (10ull * 1000000000ull) /* a full observer that reads nothing this long is dropped */

enum ctl_kind {
	C_REQUEST,
	C_STATUS,
	C_OBSERVE
};

struct ctl_client {
	struct ctl_server *s;
	int fd;
	struct loop_watch *w;
	enum ctl_kind kind;
	char req[REQ_MAX];
	size_t reqlen;
	char pod[256]; /* observe filter; "" = all */
	struct strbuf out;
	size_t off;	     /* bytes of out already written */
	uint64_t full_since; /* when the buffer first overflowed; 0 = not full */
};

struct ctl_server {
	struct loop *loop;
	int fd;
	struct loop_watch *w;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ino_t ino;
	ctl_status_fn status;
	void *arg;
	struct ctl_client *c[MAX_CLIENTS];
	int nobservers;
	ctl_observers_fn on_observers;
	uint64_t dropped, kicked;
};

static void observers_changed(struct ctl_server *s, int delta)
{
	s->nobservers += delta;
	if (s->on_observers)
		s->on_observers(s->arg, s->nobservers);
}

static void client_close(struct ctl_client *c)
{
	struct ctl_server *s = c->s;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->c[i] == c)
			s->c[i] = NULL;
	if (c->kind == C_OBSERVE)
		observers_changed(s, -1);
	loop_remove(c->w);
	close(c->fd);
	sb_free(&c->out);
	free(c);
}

/* Writes what it can; returns -1 when the client was closed. */
static int client_flush(struct ctl_client *c)
{
	while (c->off < c->out.len) {
		ssize_t n =
			send(c->fd, c->out.buf + c->off, c->out.len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_close(c);
			return -1;
		}
		c->off += (size_t)n;
		c->full_since = 0;
	}
	if (c->off == c->out.len) {
		sb_reset(&c->out);
		c->off = 0;
		if (c->kind == C_STATUS) { /* answered: done */
			client_close(c);
			return -1;
		}
	} else if (c->off > OUT_MAX / 2) {
		memmove(c->out.buf, c->out.buf + c->off, c->out.len - c->off);
		c->out.len -= c->off;
		c->off = 0;
	}
	loop_mod_fd(c->w, EPOLLIN | (c->off < c->out.len ? EPOLLOUT : 0));
	return 0;
}

static void handle_request(struct ctl_client *c)
{
	struct ctl_server *s = c->s;
	if (!strcmp(c->req, "status")) {
		c->kind = C_STATUS;
		s->status(s->arg, &c->out);
		sb_putc(&c->out, '\n');
	} else if (!strncmp(c->req, "observe", 7) && (c->req[7] == '\0' || c->req[7] == ' ')) {
		c->kind = C_OBSERVE;
		observers_changed(s, +1);
		snprintf(c->pod, sizeof(c->pod), "%s", c->req[7] ? c->req + 8 : "");
	} else {
		c->kind = C_STATUS; /* answer, then close */
		sb_puts(&c->out, "{\"error\":\"unknown request: expected 'status' or 'observe [POD]'\"}\n");
	}
	client_flush(c);
}

static void on_client(void *arg, uint32_t events)
{
	struct ctl_client *c = arg;
	if (events & EPOLLOUT && client_flush(c) < 0)
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	char buf[REQ_MAX];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c); /* observer went away (or closed before asking) */
		return;
	}
	if (c->kind != C_REQUEST)
		return; /* only the first line is a request; observers send nothing more */
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			c->req[c->reqlen] = '\0';
			handle_request(c);
			return;
		}
		if (c->reqlen + 1 >= sizeof(c->req)) {
			client_close(c);
			return;
		}
		c->req[c->reqlen++] = buf[i];
	}
}

static void on_accept(void *arg, uint32_t events)
{
	struct ctl_server *s = arg;
	(void)events;
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int slot = -1;
		for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
			if (!s->c[i])
				slot = i;
		struct ctl_client *c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			close(fd); /* too many clients */
			continue;
		}
		c->s = s;
		c->fd = fd;
		sb_init(&c->out);
		if (!(c->w = loop_add_fd(s->loop, fd, EPOLLIN, on_client, c))) {
			close(fd);
			free(c);
			continue;
		}
		s->c[slot] = c;
	}
}

/* A socket file left by a killed agent is replaced; one a live agent answers on is not. */
static int claim_path(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	return unlink(path) < 0 ? -errno : 0;
}

struct ctl_server *ctl_server_start(struct loop *l, const char *path, ctl_status_fn status, void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	int err;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_error("ctl", "--control-socket %s: path too long\n", path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0700) < 0 && errno != EEXIST) {
		log_error("ctl", "--control-socket %s: create its directory: %s\n", path, strerror(errno));
		return NULL;
	}
	if ((err = claim_path(path, &sa)) < 0) {
		log_error("ctl", "--control-socket %s: %s\n", path,
			  err == -EADDRINUSE ? "another agent is listening there" : strerror(-err));
		return NULL;
	}
	struct ctl_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = l;
	s->status = status;
	s->arg = arg;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* Only root talks to the agent: the socket is 0600 (status shows the node's pods). */
	mode_t old = umask(0177);
	err = s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s->fd, 16) < 0;
	umask(old);
	struct stat st;
	if (err || stat(path, &st) < 0 || !(s->w = loop_add_fd(l, s->fd, EPOLLIN, on_accept, s))) {
		log_error("ctl", "--control-socket %s: %s\n", path, strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return NULL;
	}
	s->ino = st.st_ino;
	return s;
}

void ctl_server_stop(struct ctl_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->c[i])
			client_close(s->c[i]);
	loop_remove(s->w);
	close(s->fd);
	struct stat st;
	if (stat(s->path, &st) == 0 && st.st_ino == s->ino) /* still ours, not a newer agent's */
		unlink(s->path);
	free(s);
}

void ctl_server_on_observers(struct ctl_server *s, ctl_observers_fn fn)
{
	s->on_observers = fn;
}

int ctl_server_observers(const struct ctl_server *s)
{
	return s ? s->nobservers : 0;
}

void ctl_server_publish(struct ctl_server *s, const char *pod, const char *json, size_t len)
{
	if (!s)
		return;
	uint64_t now = loop_now_ns();
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct ctl_client *c = s->c[i];
		if (!c || c->kind != C_OBSERVE || (c->pod[0] && fnmatch(c->pod, pod ? pod : "", 0)))
			continue;
		if (c->out.len - c->off + len + 1 > OUT_MAX) {
			s->dropped++;
			if (!c->full_since)
				c->full_since = now;
			else if (now - c->full_since > STALL_NS) {
				s->kicked++;
				client_close(c);
			}
			continue;
		}
		sb_append(&c->out, json, len);
		sb_putc(&c->out, '\n');
		client_flush(c);
	}
}

uint64_t ctl_server_dropped(const struct ctl_server *s)
{
	return s ? s->dropped : 0;
}

uint64_t ctl_server_kicked(const struct ctl_server *s)
{
	return s ? s->kicked : 0;
}
