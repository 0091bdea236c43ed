// SPDX-License-Identifier: GPL-2.0
/* Releasing client connections from the sockhash. sk_msg asks (ring buffer release_events) when
 * it has no more use for a connection: a socket in a sockmap receives through tcp_bpf, whose
 * blocking reads can fail with EAGAIN (docs/kernel.md).
 *
 * Without the FIONREAD fallback's sk_skb verdict the psock holds nothing the socket received, and
 * the connection is deleted from the sockhash by its cookie as soon as it asks. With the verdict,
 * only the release iterator (bpf/release.bpf.c) can take it out without losing bytes: it runs
 * with the socket locked, in the network namespace it is created in, so a pass is run inside each
 * pod's whose connections ask. A pass walks the kernel's whole TCP hash (2.5 ms on a 24 GB
 * machine), so passes are paced: at once when a pod asks after a quiet spell, at most every
 * RELEASE_MIN_MS for a pod, and for connections the pass had to leave waiting, again after a delay
 * that doubles up to RELEASE_MAX_MS. */
#include "datapath_priv.h"

#include "loop/loop.h"
#include "pod/pod.h"
#include "util/log.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define RELEASE_MIN_MS 100
#define RELEASE_MAX_MS 3200

int dp_release_open(struct datapath *dp)
{
	struct bpf_program *it = dp->skel->progs.obsbpf_release;
	if (!bpf_program__autoload(it))
		return 0; /* no verdict: by cookie */
	dp->release_link = bpf_program__attach_iter(it, NULL);
	if (dp->release_link)
		return 0;
	int err = -errno;
	log_warn("bpf",
		 "attach the release iterator: %s: connections that do not need sk_msg stay in the "
		 "sockhash\n",
		 strerror(-err));
	return err;
}

void dp_release_close(struct datapath *dp)
{
	bpf_link__destroy(dp->release_link);
	dp->release_link = NULL;
}

/* No verdict: the connection leaves at once. ENOENT: it closed meanwhile. */
static void release_by_cookie(struct datapath *dp, const struct obsbpf_release_event *e)
{
	__u64 cookie = e->cookie;
	if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.pod_socks), &cookie) < 0) {
		if (errno != ENOENT)
			log_debug("bpf", "release connection %llu: %s\n", (unsigned long long)cookie,
				  strerror(errno));
		return;
	}
	if (e->reason > OBSBPF_REL_NONE && e->reason < OBSBPF_REL_MAX)
		dp->released[e->reason - OBSBPF_REL_TLS]++;
}

int dp_release_event(void *ctx, void *data, size_t size)
{
	struct datapath *dp = ctx;
	const struct obsbpf_release_event *e = data;
	if (size < sizeof(*e))
		return 0;
	if (!bpf_program__autoload(dp->skel->progs.obsbpf_release)) {
		release_by_cookie(dp, e);
		return 0;
	}
	struct dp_pod *p = dp_find_pod(dp, e->pod_id, NULL);
	if (p) {
		p->release_due = true;
		p->release_delay_ms = 0; /* a pass as soon as pacing allows */
	}
	return 0;
}

struct release_pass {
	int link_fd;
	long waiting;
};

/* Inside the pod's netns: one walk over its TCP sockets. Each byte read is a connection left
 * waiting (a reader asleep on it, or bytes its psock holds). */
static int release_in_netns(void *arg)
{
	struct release_pass *r = arg;
	int fd = bpf_iter_create(r->link_fd);
	if (fd < 0)
		return -errno;
	char buf[256];
	ssize_t n;
	r->waiting = 0;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n > 0)
			r->waiting += n;
		else if (errno != EINTR && errno != EAGAIN)
			break;
	}
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static void release_pass(struct datapath *dp, struct dp_pod *p, int64_t now)
{
	struct release_pass r = { .link_fd = bpf_link__fd(dp->release_link) };
	int err = pod_in_netns_fd(p->netns_fd, release_in_netns, &r);
	p->release_last_ms = now;
	if (err) {
		/* Tried again at the pod's next event. */
		log_debug("bpf", "release pass in pod %u: %s\n", p->pod_id, strerror(-err));
		p->release_due = false;
		return;
	}
	p->release_waiting = r.waiting;
	p->release_due = r.waiting > 0;
	int64_t d = p->release_delay_ms * 2;
	p->release_delay_ms = d < RELEASE_MIN_MS ? RELEASE_MIN_MS : d > RELEASE_MAX_MS ? RELEASE_MAX_MS : d;
}

void dp_release_run(struct datapath *dp)
{
	if (!dp->release_link)
		return;
	int64_t now = (int64_t)(loop_now_ns() / 1000000);
	for (int i = 0; i < dp->npods; i++) {
		struct dp_pod *p = dp->pods[i];
		int64_t wait = p->release_delay_ms > RELEASE_MIN_MS ? p->release_delay_ms : RELEASE_MIN_MS;
		if (p->release_due && p->netns_fd >= 0 &&
		    (!p->release_last_ms || now - p->release_last_ms >= wait))
			release_pass(dp, p, now);
	}
}

long datapath_release_waiting(const struct datapath *dp)
{
	long n = 0;
	for (int i = 0; dp && i < dp->npods; i++)
		n += dp->pods[i]->release_waiting;
	return n;
}
