// SPDX-License-Identifier: GPL-2.0
#include "clock.h"

#include <time.h>

#define REREAD_NS 1000000000ull

int64_t clock_mono_to_unix_ns(void)
{
	struct timespec r, m;
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - (int64_t)m.tv_sec) * 1000000000ll + (r.tv_nsec - m.tv_nsec);
}

int64_t clock_offset_at(struct clock_offset *c, uint64_t mono_ns)
{
	if (!c->set || mono_ns - c->at_ns > REREAD_NS) { /* also when mono_ns < at_ns (wraps) */
		c->off_ns = clock_mono_to_unix_ns();
		c->at_ns = mono_ns;
		c->set = true;
	}
	return c->off_ns;
}
