// SPDX-License-Identifier: GPL-2.0
/* getifaddrs from inside the pod's network namespace (its netlink socket is the namespace's). */
#include "addrs.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>

#include "pod.h"

struct addrs_arg {
	char (*out)[INET6_ADDRSTRLEN];
	int max;
};

static int read_addrs(void *arg)
{
	struct addrs_arg *a = arg;
	struct ifaddrs *ifs;
	int n = 0;
	if (getifaddrs(&ifs) < 0)
		return -errno;
	for (struct ifaddrs *i = ifs; i && n < a->max; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *s = (const struct sockaddr_in *)i->ifa_addr;
			inet_ntop(AF_INET, &s->sin_addr, a->out[n++], INET6_ADDRSTRLEN);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)i->ifa_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&s->sin6_addr))
				continue;
			inet_ntop(AF_INET6, &s->sin6_addr, a->out[n++], INET6_ADDRSTRLEN);
		}
	}
	freeifaddrs(ifs);
	return n;
}

int pod_addrs(int netns_fd, char (*out)[INET6_ADDRSTRLEN], int max)
{
	/* A pod on the host network has the node's addresses, which name no pod. */
	struct stat pod, self;
	if (fstat(netns_fd, &pod) < 0)
		return -errno;
	if (stat("/proc/self/ns/net", &self) == 0 && pod.st_ino == self.st_ino && pod.st_dev == self.st_dev)
		return 0;
	struct addrs_arg a = { out, max };
	return pod_in_netns_fd(netns_fd, read_addrs, &a);
}
