// SPDX-License-Identifier: GPL-2.0
#include "trace_cfg.h"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int trace_cidr_parse(const char *s, struct obsbpf_cidr_key *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	long bits = -1;
	if (slash) {
		char *end;
		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || bits < 0)
			return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	struct in_addr a4;
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		if (bits > 32)
			return -EINVAL;
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(&out->addr[12], &a4, 4);
		out->prefixlen = 96 + (unsigned)(bits < 0 ? 32 : bits);
		return 0;
	}
	if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		if (bits > 128)
			return -EINVAL;
		out->prefixlen = (unsigned)(bits < 0 ? 128 : bits);
		return 0;
	}
	return -EINVAL;
}

static int parse_styles(const char *s, __u32 *mask, char *err, size_t errlen)
{
	char buf[128];
	*mask = 0;
	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	if (!strcmp(buf, "none"))
		return 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "w3c") || !strcmp(t, "tracecontext"))
			*mask |= OBSBPF_PROP_W3C;
		else if (!strcmp(t, "xtrace"))
			*mask |= OBSBPF_PROP_XTRACE;
		else if (!strcmp(t, "b3"))
			*mask |= OBSBPF_PROP_B3;
		else
			goto bad;
	}
	if (*mask)
		return 0;
bad:
	snprintf(err, errlen, "--propagation %s: expected w3c, xtrace, b3 (comma separated) or none", s);
	return -EINVAL;
}

int trace_cfg_propagate(const char *propagate, struct trace_cfg *out, char *err, size_t errlen)
{
	if (!propagate || !strcmp(propagate, "always")) {
		out->k.propagate = OBSBPF_PROPAGATE_ALWAYS;
		return 0;
	}
	if (!strcmp(propagate, "sampled")) {
		out->k.propagate = OBSBPF_PROPAGATE_SAMPLED;
		return 0;
	}
	snprintf(err, errlen, "--propagate %s: expected always or sampled", propagate);
	return -EINVAL;
}

int trace_cfg_parse(const char *propagation, const char *sample_ratio, const char *inject_to,
		    struct trace_cfg *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (parse_styles(propagation ? propagation : "w3c", &out->k.propagation, err, errlen) < 0)
		return -EINVAL;

	const char *r = sample_ratio ? sample_ratio : "1";
	char *end;
	errno = 0;
	double ratio = strtod(r, &end);
	if (errno || end == r || *end || !(ratio >= 0.0 && ratio <= 1.0)) {
		snprintf(err, errlen, "--sample-ratio %s: expected a number from 0 to 1", r);
		return -EINVAL;
	}
	/* Sampled when a 32-bit random number is below the threshold: 1.0 samples all. */
	out->k.sample_threshold = (__u64)llround(ratio * 4294967296.0);

	char buf[1024];
	const char *list = inject_to ? inject_to : OBSBPF_DEFAULT_INJECT_TO;
	if (strlen(list) >= sizeof(buf)) {
		snprintf(err, errlen, "--inject-to: list too long");
		return -EINVAL;
	}
	strcpy(buf, list);
	char *save = NULL;
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		if (!strcmp(t, "none"))
			continue;
		if (out->ncidrs == TRACE_CIDR_MAX) {
			snprintf(err, errlen, "--inject-to: at most %d ranges", TRACE_CIDR_MAX);
			return -EINVAL;
		}
		if (trace_cidr_parse(t, &out->cidrs[out->ncidrs]) < 0) {
			snprintf(err, errlen, "--inject-to %s: expected an address or ADDRESS/BITS", t);
			return -EINVAL;
		}
		out->ncidrs++;
	}
	return 0;
}
