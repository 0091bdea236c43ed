/* SPDX-License-Identifier: GPL-2.0 */
/* http_route display: the kernel keys routes by a hash of the templated path and keeps the
 * first raw path it saw; this applies the same template rule to that path. */
#ifndef OBSBPF_ROUTE_H
#define OBSBPF_ROUTE_H

#include <stddef.h>

/* "/users/42/orders/9f86d081884c7d65" -> "/users/:id/orders/:id"; query/fragment cut. */
void route_template(const char *raw, char *out, size_t outlen);

#endif
