/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel events carry CLOCK_MONOTONIC times (bpf_ktime_get_ns); spans and exemplars want the
 * wall clock. */
#ifndef OBSBPF_UTIL_CLOCK_H
#define OBSBPF_UTIL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* CLOCK_REALTIME minus CLOCK_MONOTONIC now, in ns. */
int64_t clock_mono_to_unix_ns(void);

/* The same offset, read again only once the events' own monotonic time has moved on by more
 * than a second since the last read: a clock read costs ~60 ns on a VM (kvmclock), and two per
 * event were a tenth of the span exporter's CPU. A wall clock step shows within a second. */
struct clock_offset {
	int64_t off_ns;
	uint64_t at_ns; /* the event time it was read at */
	bool set;
};
int64_t clock_offset_at(struct clock_offset *c, uint64_t mono_ns);

#endif
