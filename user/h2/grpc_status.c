// SPDX-License-Identifier: GPL-2.0
#include "grpc_status.h"

static const char *const names[GRPC_MAX_CODE + 1] = {
	"OK",	     "CANCELLED",	"UNKNOWN",	     "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS",	"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED",   "OUT_OF_RANGE",	"UNIMPLEMENTED",     "INTERNAL",	   "UNAVAILABLE",
	"DATA_LOSS", "UNAUTHENTICATED",
};

const char *grpc_code_name(int code)
{
	return code >= 0 && code <= GRPC_MAX_CODE ? names[code] : "UNKNOWN";
}

int grpc_status_from_http(int http_status)
{
	switch (http_status) {
	case 400:
		return GRPC_INTERNAL;
	case 401:
		return GRPC_UNAUTHENTICATED;
	case 403:
		return GRPC_PERMISSION_DENIED;
	case 404:
		return GRPC_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return GRPC_UNAVAILABLE;
	default:
		return GRPC_UNKNOWN;
	}
}

int grpc_status_from_rst(uint32_t rst)
{
	switch (rst) {
	case 0x7: /* REFUSED_STREAM: the server did not start it, safe to retry */
		return GRPC_UNAVAILABLE;
	case 0x8: /* CANCEL */
		return GRPC_CANCELLED;
	case 0xb: /* ENHANCE_YOUR_CALM */
		return GRPC_RESOURCE_EXHAUSTED;
	case 0xc: /* INADEQUATE_SECURITY */
		return GRPC_PERMISSION_DENIED;
	default: /* NO_ERROR before a status, PROTOCOL_ERROR, INTERNAL_ERROR, ... */
		return GRPC_INTERNAL;
	}
}
