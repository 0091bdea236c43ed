// SPDX-License-Identifier: GPL-2.0
#include "hazard.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connected loopback pair: *c the client, *s the accepted end. */
static int tcp_pair(int *c, int *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*c = *s = -1;
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		goto fail;
	*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*c < 0 || connect(*c, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto fail;
	*s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (*s < 0)
		goto fail;
	close(l);
	return 0;
fail:;
	int err = -errno;
	close(l);
	if (*c >= 0)
		close(*c);
	*c = -1;
	return err;
}

/* The bytes queued on fd as FIONREAD reports them, once poll says some arrived. */
static int inq_after(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = -1;
	if (poll(&p, 1, 1000) != 1)
		return -1;
	usleep(10000); /* loopback delivers within the send; this covers a softirq that lags */
	return ioctl(fd, FIONREAD, &n) < 0 ? -1 : n;
}

int hazard_fionread(void)
{
	char buf[4000];
	int c, s, err;
	int map = bpf_map_create(BPF_MAP_TYPE_SOCKHASH, "obsbpf_selftest", 8, 8, 1, NULL);
	if (map < 0)
		return -errno;
	err = tcp_pair(&c, &s);
	if (err < 0) {
		close(map);
		return err;
	}
	/* As obsbpf puts a pod's client sockets: a member of a sockhash. */
	__u64 key = 0, val = (__u64)c;
	err = bpf_map_update_elem(map, &key, &val, BPF_ANY) < 0 ? -errno : 0;
	memset(buf, 'x', sizeof(buf));
	if (!err && (write(s, buf, 1000) != 1000 || write(s, buf, sizeof(buf)) != sizeof(buf)))
		err = -EIO;
	int n = err ? -1 : inq_after(c);
	if (!err && n < 0)
		err = -EIO;
	close(c);
	close(s);
	close(map);
	return err ? err : n < 1000 + (int)sizeof(buf);
}
