/* SPDX-License-Identifier: GPL-2.0 */
/* HOST:PORT, as --listen, --forward and the OTLP endpoint's authority spell it: "host:port",
 * "[v6]:port", and where allowed a bare host or a bare IPv6 address. One parser for all three. */
#ifndef OBSBPF_HOSTPORT_H
#define OBSBPF_HOSTPORT_H

#include <stddef.h>

#define HP_PORT_OPTIONAL 1u /* "host" alone: *port left "" */
#define HP_HOST_OPTIONAL 2u /* ":port": *host left "" */
#define HP_BARE_IPV6	 4u /* "::1:9102": the last colon splits (else IPv6 needs brackets) */

/* Splits the first n bytes of s into host and port (NUL-terminated copies). The port is 1 to
 * 65535, in digits only. Returns 0, or -EINVAL (bad form, empty parts not allowed by flags, or a
 * part longer than its buffer). */
int hostport_split(const char *s, size_t n, unsigned flags, char *host, size_t hn, char *port, size_t pn);

#endif
