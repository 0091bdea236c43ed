// SPDX-License-Identifier: GPL-2.0
#include "backoff.h"

#include <sys/random.h>
#include <time.h>

uint64_t backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, double rnd)
{
	if (base_ms == 0)
		base_ms = 1;
	if (cap_ms < base_ms)
		cap_ms = base_ms;
	unsigned shift = attempt > 1 ? attempt - 1 : 0;
	uint64_t step = base_ms << (shift < 32 ? shift : 32);
	if (step > cap_ms || step < base_ms) /* past the cap, or shifted out */
		step = cap_ms;
	if (!(rnd >= 0 && rnd < 1))
		rnd = 0;
	uint64_t d = step / 2 + (uint64_t)((double)(step - step / 2) * rnd);
	return d ? d : 1;
}

double backoff_rnd(void)
{
	uint32_t r;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint32_t)ts.tv_nsec;
	}
	return (double)r / 4294967296.0;
}
