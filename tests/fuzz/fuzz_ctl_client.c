// SPDX-License-Identifier: GPL-2.0
/* The control socket's answers as `obsbpf status` and `obsbpf observe` read them
 * (ctl/render.c): the status document (first byte even) or one observe event line (odd),
 * NUL-terminated as the clients hand them over. */
#include <errno.h>
#include <string.h>

#include "ctl/ctl.h"
#include "fuzz.h"
#include "util/strbuf.h"

static FILE *out;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	FUZZ_CHECK((out = fopen("/dev/null", "w")));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	char *s = malloc(size);
	FUZZ_CHECK(s);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] & 1) {
		struct strbuf b;
		sb_init(&b);
		int rc = ctl_render_event(&b, s);
		FUZZ_CHECK(rc == 0 || rc == -EINVAL);
		FUZZ_CHECK(rc || (b.buf && strlen(b.buf) == b.len));
		sb_free(&b);
	} else {
		int rc = ctl_render_status(out, s);
		FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	}
	free(s);
	return 0;
}
