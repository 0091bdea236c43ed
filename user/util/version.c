// SPDX-License-Identifier: GPL-2.0
/* The version strings come from build/gen/version_gen.h, written by the Makefile from VERSION and
 * git: only this file is rebuilt when they change. */
#include "version.h"

#include "version_gen.h"

#include <stdio.h>
#include <sys/utsname.h>

const char *obsbpf_version(void)
{
	return OBSBPF_VERSION;
}

const char *obsbpf_commit(void)
{
	return OBSBPF_COMMIT;
}

const char *obsbpf_user_agent(void)
{
	return "obsbpf/" OBSBPF_VERSION;
}

void obsbpf_kernel_release(char *out, size_t n)
{
	struct utsname u;
	snprintf(out, n, "%s", uname(&u) == 0 ? u.release : "unknown");
}
