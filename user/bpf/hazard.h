/* SPDX-License-Identifier: GPL-2.0 */
/* Known kernel hazards that obsbpf's hooks would expose the pod to, detected at start by a
 * self-test on scratch sockets, so that the agent can avoid them. */
#ifndef OBSBPF_HAZARD_H
#define OBSBPF_HAZARD_H

#include <stdbool.h>

/* The sockmap FIONREAD regression: a TCP socket in a sockhash without a verdict program reports
 * FIONREAD 0 with data queued. Returns 1 when this kernel has it, 0 when not, -errno when the
 * test could not run. */
int hazard_fionread(void);

/* Linux's tcp_bpf receive path (tcp_bpf_recvmsg, tcp_bpf_recvmsg_parser with a verdict) waits
 * once and returns EAGAIN when woken without data, even on a blocking socket: a blocking read
 * after a send larger than the send buffer fails when the ACKs wake it. Tested on a socket in a
 * sockhash with the receive path obsbpf gives the pod's client sockets (verdict: the FIONREAD
 * fallback's sk_skb verdict attached). 1 when this kernel has it, 0 when not, -errno when the
 * test could not run. Takes ~5 ms where the hazard is, ~110 ms where not; at most ~3.5 s. */
int hazard_recv_eagain(bool verdict);

#endif
