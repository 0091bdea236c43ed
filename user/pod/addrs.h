/* SPDX-License-Identifier: GPL-2.0 */
/* A pod's own IP addresses, read from its network namespace: what names it when another pod's
 * connection has it as peer (the service graph). */
#ifndef OBSBPF_POD_ADDRS_H
#define OBSBPF_POD_ADDRS_H

#include <arpa/inet.h>

/* Writes up to max addresses of the netns's interfaces as text (IPv4 dotted, IPv6 as
 * inet_ntop), leaving out loopback and IPv6 link-local ones, which name no pod. Returns how
 * many, or -errno (the namespace could not be entered or read). */
int pod_addrs(int netns_fd, char (*out)[INET6_ADDRSTRLEN], int max);

#endif
