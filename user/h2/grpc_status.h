/* SPDX-License-Identifier: GPL-2.0 */
/* gRPC status codes: their names, and the codes gRPC gives a call that ended without a
 * grpc-status (grpc/doc/PROTOCOL-HTTP2.md, http-grpc-status-mapping.md). Shared by the HTTP/2
 * decoder (the app's calls) and the OTLP/gRPC exporter (the agent's own). */
#ifndef OBSBPF_H2_GRPC_STATUS_H
#define OBSBPF_H2_GRPC_STATUS_H

#include <stdint.h>

#define GRPC_OK			0
#define GRPC_CANCELLED		1
#define GRPC_UNKNOWN		2
#define GRPC_RESOURCE_EXHAUSTED 8
#define GRPC_PERMISSION_DENIED	7
#define GRPC_UNIMPLEMENTED	12
#define GRPC_INTERNAL		13
#define GRPC_UNAVAILABLE	14
#define GRPC_UNAUTHENTICATED	16
#define GRPC_MAX_CODE		16

/* "OK", "CANCELLED", ..., "UNAUTHENTICATED"; "UNKNOWN" outside 0..16. */
const char *grpc_code_name(int code);
/* The status of a response with HTTP status http_status and no grpc-status. */
int grpc_status_from_http(int http_status);
/* The status of a call whose stream was reset with HTTP/2 error code rst (RFC 9113 7). */
int grpc_status_from_rst(uint32_t rst);

#endif
