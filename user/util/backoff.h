/* SPDX-License-Identifier: GPL-2.0 */
/* Exponential backoff with jitter, for everything that retries a peer: the span exporter, the
 * Fluent Forward output, the Pushgateway pusher. Jitter keeps agents that lost the same peer
 * together from coming back in lockstep. */
#ifndef OBSBPF_BACKOFF_H
#define OBSBPF_BACKOFF_H

#include <stdint.h>

/* Delay before retry number `attempt` (1: the first retry): base_ms doubled for each attempt
 * after the first, capped at cap_ms, then a uniform 50..100% of that step (rnd in [0,1); 0 when
 * outside). Never 0. */
uint64_t backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, double rnd);

/* A uniform value in [0,1) from getrandom (the clock's nanoseconds if that fails). */
double backoff_rnd(void);

#endif
