// SPDX-License-Identifier: GPL-2.0
#include "array.h"

#include <stdlib.h>

bool array_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 16;
	while (c < need)
		c *= 2;
	void *np = realloc(*p, c * elem);
	if (!np)
		return false;
	*p = np;
	*cap = c;
	return true;
}
