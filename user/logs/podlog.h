/* SPDX-License-Identifier: GPL-2.0 */
/* The kubelet's container log files, as daemon mode follows them:
 * <pod logs dir>/<namespace>_<pod>_<uid>/<container>/<restart count>.log, rotated by the kubelet
 * to <restart>.log.<timestamp> (still followed: the runtime may write to it until it reopens the
 * log, and a restarted agent resumes it from its checkpoint), later gzipped to .gz (not read:
 * written by the kubelet from a file followed until then). */
#ifndef OBSBPF_LOGS_PODLOG_H
#define OBSBPF_LOGS_PODLOG_H

#include <stdbool.h>

#include "pod/identity.h"

struct pod_log_file {
	struct pod_meta pod;
	char container[64];
	unsigned restart; /* the container's restart count: the file's number */
	bool rotated;	  /* <restart>.log.<timestamp> */
};

/* Parses a path's last three components. 0, or -EINVAL for a path that is no container log
 * (or a compressed or temporary rotation: .gz, .tmp). */
int pod_log_path_parse(const char *path, struct pod_log_file *out);

/* The glob patterns that find such files under dir (current and rotated), written to a[0], b[0]. */
void pod_log_globs(const char *dir, char *a, char *b, unsigned long n);

#endif
