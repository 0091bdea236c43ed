// SPDX-License-Identifier: GPL-2.0
/* `obsbpf status` and `obsbpf observe`: ask the running agent over its control socket. */
#include "ctl.h"

#include "util/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int ctl_connect(const char *cmd, const char *path, const char *request)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "obsbpf %s: --control-socket %s: path too long\n", cmd, path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "obsbpf %s: no agent running at %s (%s)\n", cmd, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t len = strlen(request);
	if (send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fprintf(stderr, "obsbpf %s: %s: %s\n", cmd, path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int ctl_status(const char *path, bool json, FILE *out)
{
	int fd = ctl_connect("status", path, "status\n");
	if (fd < 0)
		return 1;
	struct strbuf b;
	char buf[16384];
	ssize_t n;
	sb_init(&b);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sb_append(&b, buf, (size_t)n);
	close(fd);
	int rc = 0;
	if (n < 0 || !b.len || b.oom) {
		fprintf(stderr, "obsbpf status: %s: the agent closed without an answer\n", path);
		rc = 1;
	} else if (json) {
		fwrite(b.buf, 1, b.len, out);
	} else if (ctl_render_status(out, b.buf) < 0) {
		fprintf(stderr, "obsbpf status: %s: unexpected answer from the agent\n", path);
		rc = 1;
	}
	sb_free(&b);
	return rc;
}

int ctl_observe(const char *path, const char *pod, bool json, FILE *out)
{
	char req[300];
	snprintf(req, sizeof(req), "observe%s%s\n", pod ? " " : "", pod ? pod : "");
	int fd = ctl_connect("observe", path, req);
	if (fd < 0)
		return 1;
	FILE *in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return 1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct strbuf b;
	sb_init(&b);
	/* Until the agent goes away or we are interrupted (SIGINT's default action ends us). */
	while ((n = getline(&line, &cap, in)) > 0) {
		if (json) {
			fputs(line, out);
		} else {
			sb_reset(&b);
			if (ctl_render_event(&b, line) == 0) {
				fwrite(b.buf, 1, b.len, out);
				fputc('\n', out);
			}
		}
		fflush(out);
	}
	sb_free(&b);
	free(line);
	fclose(in);
	fprintf(stderr, "obsbpf observe: the agent at %s went away\n", path);
	return 1;
}
