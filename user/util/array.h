/* SPDX-License-Identifier: GPL-2.0 */
/* Growing a malloc'd array. */
#ifndef OBSBPF_UTIL_ARRAY_H
#define OBSBPF_UTIL_ARRAY_H

#include <stdbool.h>
#include <stddef.h>

/* Makes room for `need` elements of `elem` bytes in *p (capacity *cap, in elements), doubling:
 * appends stay amortized O(1). false on out of memory, with *p and *cap unchanged. */
bool array_grow(void **p, size_t *cap, size_t need, size_t elem);

#endif
