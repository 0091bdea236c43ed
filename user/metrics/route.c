// SPDX-License-Identifier: GPL-2.0
#include "route.h"

#include <obsbpf/http_parse.h>
#include <string.h>

void route_template(const char *raw, char *out, size_t outlen)
{
	size_t o = 0;
	const char *seg = raw;

	if (!outlen)
		return;
	while (*seg && !obsbpf_route_end((unsigned char)*seg)) {
		const char *end = seg;
		__u32 f = 0;
		while (*end && *end != '/' && !obsbpf_route_end((unsigned char)*end))
			f = obsbpf_seg_update(f, (unsigned char)*end++);
		const char *text = obsbpf_seg_is_id(f) ? ":id" : seg;
		size_t n = obsbpf_seg_is_id(f) ? 3 : (size_t)(end - seg);
		if (o + n >= outlen)
			n = outlen - 1 - o;
		memcpy(out + o, text, n);
		o += n;
		if (*end == '/' && o + 1 < outlen)
			out[o++] = '/';
		seg = *end == '/' ? end + 1 : end;
	}
	out[o] = '\0';
}
