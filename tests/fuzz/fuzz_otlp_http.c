// SPDX-License-Identifier: GPL-2.0
/* What an OTLP/HTTP collector answers (trace/http.c otlp_http_result): the transfer's outcome,
 * the HTTP status, the Retry-After seconds as libcurl reports them (any positive curl_off_t: a
 * delay or a date) and the body, a protobuf ExportTraceServiceResponse on success or the
 * collector's reason otherwise. Input: ok (1 byte), status (2), Retry-After (8, big-endian;
 * <= 0: none), then the body. */
#include <string.h>

#include "appmetrics/fetch.h"
#include "fuzz.h"
#include "trace/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 11)
		return 0;
	int64_t ra = 0;
	for (int i = 0; i < 8; i++)
		ra = (int64_t)((uint64_t)ra << 8 | data[3 + i]);
	struct strbuf body;
	sb_init(&body);
	sb_append(&body, (const char *)data + 11, size - 11);
	struct fetch_result r = {
		.ok = data[0] & 1,
		.status = (long)(data[1] << 8 | data[2]) % 1000,
		.error = data[0] & 2 ? "Connection refused" : NULL,
		.body = &body,
		.retry_after_s = ra > 0 ? (long)ra : -1, /* fetch.c: ra > 0 ? ra : -1 */
	};
	struct export_result res;
	otlp_http_result(&r, &res);
	FUZZ_CHECK(res.outcome == EXPORT_OK || res.outcome == EXPORT_RETRY || res.outcome == EXPORT_FAIL);
	FUZZ_CHECK(memchr(res.detail, '\0', sizeof(res.detail)));
	FUZZ_CHECK(res.retry_after_ms == -1 || res.retry_after_ms >= 0);
	/* what the tracer does with it (tracer.c): the next attempt's delay */
	FUZZ_CHECK(retry_delay_ms(3, 500, 30000, res.retry_after_ms, 0.5) <= (uint64_t)RETRY_AFTER_MAX_MS);
	sb_free(&body);
	return 0;
}
