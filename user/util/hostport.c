// SPDX-License-Identifier: GPL-2.0
#include "hostport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int copy(char *dst, size_t dn, const char *src, size_t len)
{
	if (len >= dn)
		return -EINVAL;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* Digits only, 1..65535. */
static int valid_port(const char *p, size_t len)
{
	if (len == 0 || len > 5)
		return 0;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

int hostport_split(const char *s, size_t n, unsigned flags, char *host, size_t hn, char *port, size_t pn)
{
	if (!s || !hn || !pn)
		return -EINVAL;
	host[0] = port[0] = '\0';
	const char *end = s + strnlen(s, n), *colon = NULL;
	if (s < end && *s == '[') {
		const char *rb = memchr(s, ']', (size_t)(end - s));
		if (!rb || rb == s + 1 || copy(host, hn, s + 1, (size_t)(rb - s - 1)) < 0)
			return -EINVAL;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return -EINVAL;
			colon = rb + 1;
		}
	} else {
		const char *first = memchr(s, ':', (size_t)(end - s));
		colon = first;
		if (first && memchr(first + 1, ':', (size_t)(end - first - 1))) {
			if (!(flags & HP_BARE_IPV6))
				return -EINVAL; /* an IPv6 address needs brackets */
			for (const char *p = end; p > s; p--)
				if (p[-1] == ':') {
					colon = p - 1;
					break;
				}
		}
		if (copy(host, hn, s, (size_t)((colon ? colon : end) - s)) < 0)
			return -EINVAL;
	}
	if (!host[0] && !(flags & HP_HOST_OPTIONAL))
		return -EINVAL;
	if (!colon)
		return flags & HP_PORT_OPTIONAL ? 0 : -EINVAL;
	size_t plen = (size_t)(end - colon - 1);
	if (!valid_port(colon + 1, plen) || copy(port, pn, colon + 1, plen) < 0)
		return -EINVAL;
	return 0;
}
