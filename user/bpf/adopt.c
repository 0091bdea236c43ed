// SPDX-License-Identifier: GPL-2.0
/* Connections established before attach: once a pod's hooks are attached, the adopt iterator
 * (bpf/adopt.bpf.c) walks the TCP sockets of the pod's network namespace and gives those that
 * sockops never saw their state, as if they had just been established. Connections that reach
 * ESTABLISHED during the walk are sockops' (the iterator skips a socket that has state). */
#include "datapath_priv.h"

#include "pod/pod.h"
#include "util/log.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

int dp_adopt_open(struct datapath *dp)
{
	dp->adopt_link = bpf_program__attach_iter(dp->skel->progs.obsbpf_adopt, NULL);
	if (dp->adopt_link)
		return 0;
	int err = -errno;
	log_warn("bpf", "attach the adopt iterator: %s: connections opened before attach are not followed\n",
		 strerror(-err));
	return err;
}

void dp_adopt_close(struct datapath *dp)
{
	bpf_link__destroy(dp->adopt_link);
	dp->adopt_link = NULL;
}

/* Inside the pod's netns: one walk over its TCP sockets (the program writes nothing). */
static int adopt_in_netns(void *arg)
{
	int fd = bpf_iter_create(*(int *)arg);
	if (fd < 0)
		return -errno;
	char buf[64];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) != 0)
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			break;
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

void dp_adopt_pod(struct datapath *dp, struct dp_pod *p, const char *name)
{
	if (!dp->adopt_link || p->netns_fd < 0)
		return;
	/* The listening ports are the walked namespace's: none yet. */
	memset(dp->skel->bss->adopt_listen, 0, sizeof(dp->skel->bss->adopt_listen));
	int link_fd = bpf_link__fd(dp->adopt_link);
	int err = pod_in_netns_fd(p->netns_fd, adopt_in_netns, &link_fd);
	if (err)
		log_warn("bpf", "pod %s: connections opened before attach: %s: not followed\n", name,
			 strerror(-err));
}
