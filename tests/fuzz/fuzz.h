/* SPDX-License-Identifier: GPL-2.0 */
/* What the libFuzzer targets share: a check that fails loudly (libFuzzer saves the input) and
 * a way to keep the agent's own diagnostics off the fuzzer's output. */
#ifndef OBSBPF_FUZZ_H
#define OBSBPF_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                             \
	do {                                                                                         \
		if (!(cond)) {                                                                       \
			fprintf(fuzz_err(), "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                     \
		}                                                                                    \
	} while (0)

/* The real stderr, kept for FUZZ_CHECK once fuzz_quiet has pointed stderr elsewhere. */
static FILE *fuzz_stderr;

static inline FILE *fuzz_err(void)
{
	return fuzz_stderr ? fuzz_stderr : stderr;
}

/* The code under test prints one line per rejected input: millions of them. Sanitizer and
 * libFuzzer reports write to fd 2 directly and stay visible; FUZZ_VERBOSE=1 keeps it all. */
static inline void fuzz_quiet(void)
{
	const char *v = getenv("FUZZ_VERBOSE");
	if (v && *v == '1')
		return;
	FILE *null = fopen("/dev/null", "w");
	if (null) {
		fuzz_stderr = stderr;
		stderr = null;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
