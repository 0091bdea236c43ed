/* SPDX-License-Identifier: GPL-2.0 */
/* One epoll event loop for the whole agent: fds, timers and signals.
 * Single-threaded: every callback runs on the loop thread, so components
 * that only touch their state from callbacks need no locks. */
#ifndef OBSBPF_LOOP_H
#define OBSBPF_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_watch;

/* events: EPOLLIN/EPOLLOUT/... as returned by epoll. */
typedef void (*loop_fd_cb)(void *arg, uint32_t events);
typedef void (*loop_timer_cb)(void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for `events` (EPOLLIN, EPOLLOUT). Returns NULL and sets errno on failure. */
struct loop_watch *loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod_fd(struct loop_watch *w, uint32_t events);
/* Stops watching (does not close the fd). Safe to call from inside a callback. */
void loop_remove(struct loop_watch *w);

/* Periodic timer (interval_ms > 0) or one-shot (interval_ms == 0) after first_ms. */
struct loop_watch *loop_add_timer(struct loop *l, uint64_t first_ms, uint64_t interval_ms, loop_timer_cb cb,
				  void *arg);
int loop_timer_rearm(struct loop_watch *w, uint64_t first_ms, uint64_t interval_ms);

/* Blocks SIGINT/SIGTERM and makes loop_run return when one arrives. */
int loop_stop_on_signals(struct loop *l);
void loop_stop(struct loop *l);

/* Runs until loop_stop or a signal. Returns 0, or -errno on an epoll failure. */
int loop_run(struct loop *l);
/* One pass: waits at most timeout_ms (-1: forever) and dispatches. */
int loop_run_once(struct loop *l, int timeout_ms);

/* Monotonic clock in nanoseconds; the loop's last turn (for /readyz liveness). */
uint64_t loop_now_ns(void);
uint64_t loop_last_turn_ns(const struct loop *l);

#endif
