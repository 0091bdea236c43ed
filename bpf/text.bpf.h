/* SPDX-License-Identifier: GPL-2.0 */
/* Reading HTTP/1.x heads in the BPF programs: header names compared without case, a word
 * test for a '\n', and what a head says about its body. Shared by sk_msg's head scan, tc's
 * and the trace header classifier. */
#ifndef OBSBPF_TEXT_BPF_H
#define OBSBPF_TEXT_BPF_H

#include "vmlinux.h"

#define BODY_CHUNKED (-2) /* Transfer-Encoding: the body's end is not known from the head */
#define BODY_UNKNOWN (-1) /* neither Content-Length nor Transfer-Encoding */
#define HDR_UPGRADE  (-3) /* an Upgrade header: the connection may stop being HTTP/1 */

/* A word has a '\n' byte when (w ^ NLS) has a zero byte. */
#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
#define NLS   0x0a0a0a0a0a0a0a0aull

static __always_inline int word_has_nl(__u64 w)
{
	__u64 x = w ^ NLS;
	return ((x - ONES) & ~x & HIGHS) != 0;
}

/* The index of the first '\n' byte of w (little-endian), or 8. Branch-free: the lowest flag
 * of the zero-byte test is exact (borrows only disturb the bytes above it), and multiplying its
 * one bit by a ramp moves the byte index into the top byte. */
static __always_inline __u32 word_nl_index(__u64 w)
{
	__u64 x = w ^ NLS;
	__u64 t = (x - ONES) & ~x & HIGHS;
	if (!t)
		return 8;
	return (__u32)((((t & -t) >> 7) * 0x0001020304050607ull) >> 56);
}

/* p starts with the lowercase name `lower` (n bytes, all readable at p), in any case. */
static __always_inline int name_is(const __u8 *p, const char *lower, int n)
{
	for (int i = 0; i < n; i++)
		if ((p[i] | 0x20) != (__u8)lower[i]) /* '-', ':' and digits already have 0x20 set */
			return 0;
	return 1;
}

#endif
