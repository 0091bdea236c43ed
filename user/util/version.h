/* SPDX-License-Identifier: GPL-2.0 */
/* Which obsbpf this is: `obsbpf --version`, the exporters' User-Agent, obsbpf_build_info. */
#ifndef OBSBPF_UTIL_VERSION_H
#define OBSBPF_UTIL_VERSION_H

#include <stddef.h>

/* The release, e.g. "0.1.0" (Makefile VERSION). */
const char *obsbpf_version(void);
/* The git commit built, e.g. "09089dc1a2b3" (with "-dirty"), or "unknown". */
const char *obsbpf_commit(void);
/* "obsbpf/0.1.0": the User-Agent of every request the agent makes. */
const char *obsbpf_user_agent(void);
/* The running kernel's release (uname -r) into out; "unknown" when uname fails. */
void obsbpf_kernel_release(char *out, size_t n);

#endif
