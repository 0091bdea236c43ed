// SPDX-License-Identifier: GPL-2.0
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum watch_kind {
	W_FD,
	W_TIMER,
	W_SIGNAL
};

struct loop_watch {
	struct loop *loop;
	enum watch_kind kind;
	int fd;
	bool owns_fd;
	bool dead;
	loop_fd_cb fd_cb;
	loop_timer_cb timer_cb;
	void *arg;
	struct loop_watch *next_dead;
};

struct loop {
	int epfd;
	bool stop;
	bool dispatching;
	uint64_t last_turn_ns;
	struct loop_watch *dead; /* freed after the dispatch pass that removed them */
	struct loop_watch *sig;
};

uint64_t loop_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->last_turn_ns = loop_now_ns();
	return l;
}

static struct loop_watch *watch_add(struct loop *l, enum watch_kind kind, int fd, bool owns, uint32_t events)
{
	struct loop_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->loop = l;
	w->kind = kind;
	w->fd = fd;
	w->owns_fd = owns;
	struct epoll_event ev = { .events = events, .data.ptr = w };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(w);
		errno = e;
		return NULL;
	}
	return w;
}

struct loop_watch *loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct loop_watch *w = watch_add(l, W_FD, fd, false, events);
	if (w) {
		w->fd_cb = cb;
		w->arg = arg;
	}
	return w;
}

int loop_mod_fd(struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	return epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

static void ms_to_ts(uint64_t ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

int loop_timer_rearm(struct loop_watch *w, uint64_t first_ms, uint64_t interval_ms)
{
	struct itimerspec its = { 0 };
	ms_to_ts(first_ms ? first_ms : 1, &its.it_value);
	ms_to_ts(interval_ms, &its.it_interval);
	return timerfd_settime(w->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

struct loop_watch *loop_add_timer(struct loop *l, uint64_t first_ms, uint64_t interval_ms, loop_timer_cb cb,
				  void *arg)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct loop_watch *w = watch_add(l, W_TIMER, fd, true, EPOLLIN);
	if (!w) {
		close(fd);
		return NULL;
	}
	w->timer_cb = cb;
	w->arg = arg;
	if (loop_timer_rearm(w, first_ms, interval_ms) < 0) {
		loop_remove(w);
		return NULL;
	}
	return w;
}

void loop_remove(struct loop_watch *w)
{
	if (!w || w->dead)
		return;
	struct loop *l = w->loop;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	if (w->owns_fd)
		close(w->fd);
	w->dead = true;
	if (l->dispatching) {
		w->next_dead = l->dead;
		l->dead = w;
	} else {
		free(w);
	}
}

int loop_stop_on_signals(struct loop *l)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	l->sig = watch_add(l, W_SIGNAL, fd, true, EPOLLIN);
	if (!l->sig) {
		int e = errno;
		close(fd);
		return -e;
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

uint64_t loop_last_turn_ns(const struct loop *l)
{
	return l->last_turn_ns;
}

static void dispatch(struct loop_watch *w, uint32_t events)
{
	uint64_t ticks;
	struct signalfd_siginfo si;

	if (w->dead)
		return;
	switch (w->kind) {
	case W_FD:
		w->fd_cb(w->arg, events);
		break;
	case W_TIMER:
		if (read(w->fd, &ticks, sizeof(ticks)) == sizeof(ticks))
			w->timer_cb(w->arg);
		break;
	case W_SIGNAL:
		while (read(w->fd, &si, sizeof(si)) == sizeof(si))
			w->loop->stop = true;
		break;
	}
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(l->epfd, evs, 32, timeout_ms);
	l->last_turn_ns = loop_now_ns();
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	l->dispatching = true;
	for (int i = 0; i < n; i++)
		dispatch(evs[i].data.ptr, evs[i].events);
	l->dispatching = false;
	while (l->dead) {
		struct loop_watch *w = l->dead;
		l->dead = w->next_dead;
		free(w);
	}
	return n;
}

int loop_run(struct loop *l)
{
	l->stop = false;
	while (!l->stop) {
		/* Wake at least once a second so /readyz can tell a stuck loop from an idle one. */
		int err = loop_run_once(l, 1000);
		if (err < 0)
			return err;
	}
	return 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	loop_remove(l->sig);
	close(l->epfd);
	free(l);
}
