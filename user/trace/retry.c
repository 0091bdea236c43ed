// SPDX-License-Identifier: GPL-2.0
/* When an export is retried and after how long (OTLP specification, "Failures", "OTLP/gRPC
 * Throttling" and "OTLP/HTTP Throttling"). */
#include "internal.h"
#include "util/backoff.h"

enum export_outcome otlp_http_outcome(bool transport_ok, long status)
{
	if (!transport_ok)
		return EXPORT_RETRY; /* refused, reset, timed out: the collector may come back */
	if (status >= 200 && status < 300)
		return EXPORT_OK;
	if (status == 429 || status == 502 || status == 503 || status == 504)
		return EXPORT_RETRY;
	return EXPORT_FAIL;
}

enum export_outcome otlp_grpc_outcome(int grpc_status)
{
	switch (grpc_status) {
	case 0:
		return EXPORT_OK;
	case 1:	 /* CANCELLED */
	case 4:	 /* DEADLINE_EXCEEDED */
	case 10: /* ABORTED */
	case 11: /* OUT_OF_RANGE */
	case 14: /* UNAVAILABLE */
	case 15: /* DATA_LOSS */
		return EXPORT_RETRY;
	default:
		/* RESOURCE_EXHAUSTED is retryable only with a RetryInfo detail: the transport checks. */
		return EXPORT_FAIL;
	}
}

uint64_t retry_delay_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, long retry_after_ms, double rnd)
{
	if (retry_after_ms >= 0)
		return (uint64_t)(retry_after_ms < RETRY_AFTER_MAX_MS ? retry_after_ms : RETRY_AFTER_MAX_MS);
	return backoff_ms(attempt, base_ms, cap_ms, rnd);
}
