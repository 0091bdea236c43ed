// SPDX-License-Identifier: GPL-2.0
#include "workload.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* k8s.io/apimachinery's rand.String alphabet: what generateName suffixes and the
 * pod-template-hash (SafeEncodeString) are made of. */
static bool k8s_rand(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !strchr("bcdfghjklmnpqrstvwxz2456789", s[i]))
			return false;
	return true;
}

static bool digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len > 0;
}

/* The length of name[0 .. len) without its last "-segment" when is(segment) says it is a
 * controller's suffix; len when not (or when nothing would be left). */
static size_t strip(const char *name, size_t len, size_t min, size_t max, bool (*is)(const char *, size_t))
{
	const char *dash = NULL;
	for (size_t i = len; i > 0; i--)
		if (name[i - 1] == '-') {
			dash = name + i - 1;
			break;
		}
	if (!dash || dash == name)
		return len;
	size_t seg = len - (size_t)(dash + 1 - name);
	if (seg < min || seg > max || !is(dash + 1, seg))
		return len;
	return (size_t)(dash - name);
}

void pod_workload_name(const char *pod, char *out, size_t n)
{
	if (!n)
		return;
	size_t len = strlen(pod), w = len;
	size_t r = strip(pod, len, 5, 5, k8s_rand);
	if (r != len)
		w = strip(pod, r, 6, 10, k8s_rand); /* a Deployment's ReplicaSet hash, if any */
	else
		w = strip(pod, len, 1, 10, digits); /* a StatefulSet's ordinal */
	snprintf(out, n, "%.*s", (int)w, pod);
}
