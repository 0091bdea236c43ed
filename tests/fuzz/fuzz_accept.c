// SPDX-License-Identifier: GPL-2.0
/* A scraper's Accept header (http/exposition.c http_accept_format): quoted parameters,
 * q-values and ranges decide between Prometheus text and OpenMetrics. */
#include <string.h>

#include "fuzz.h"
#include "http/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1); /* libmicrohttpd hands over a NUL-terminated value */
	FUZZ_CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	enum exposition_format f = http_accept_format(s);
	FUZZ_CHECK(f == EXPO_PROMETHEUS || f == EXPO_OPENMETRICS);
	free(s);
	return 0;
}
