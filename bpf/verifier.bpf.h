/* SPDX-License-Identifier: GPL-2.0 */
/* Forms the verifier always follows, whatever the compiler makes of the plain C. */
#ifndef OBSBPF_VERIFIER_BPF_H
#define OBSBPF_VERIFIER_BPF_H

/* v = min(v, max) as a compare and a move on v's own 64-bit register. clang 19 turns a plain
 * `if (v > max) v = max` followed by `v & mask` into arithmetic whose bound the verifier cannot
 * see ("R2 unbounded memory access"). v must be a 64-bit variable. */
#define BOUND(v, max) asm volatile("if %[x] <= %[m] goto +1\n\t%[x] = %[m]" : [x] "+r"(v) : [m] "i"(max))

/* For v in [1, max] (max a power of two), v unchanged, in a form from which every verifier
 * learns v >= 1: 6.1's does not learn it from `v != 0`, and helpers' sizes must not be 0. */
#define NONZERO(v, max) ((v) = (((v)-1) & ((max)-1)) + 1)

/* Hides v's value from the compiler: it keeps the computation where it is written. */
#define OPAQUE(v) asm volatile("" : "+r"(v))

/* A bpf_loop callback's return value, 0 or 1 in a form the verifier sees as such: clang 19
 * turns `x ? 1 : 0` into arithmetic whose range the verifier does not bound ("At callback
 * return the register R0 has unknown scalar value"). */
#define CB_RET(x)                                          \
	({                                                 \
		__u64 __r = (x) != 0;                      \
		asm volatile("%[r] &= 1" : [r] "+r"(__r)); \
		(int)__r;                                  \
	})

#endif
