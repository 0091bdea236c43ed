/* SPDX-License-Identifier: GPL-2.0 */
/* Known kernel hazards that obsbpf's hooks would expose the pod to, detected at start by a
 * self-test on scratch sockets, so that the agent can avoid them. */
#ifndef OBSBPF_HAZARD_H
#define OBSBPF_HAZARD_H

/* The sockmap FIONREAD regression: a TCP socket in a sockhash without a verdict program reports
 * FIONREAD 0 with data queued. Returns 1 when this kernel has it, 0 when not, -errno when the
 * test could not run. */
int hazard_fionread(void);

#endif
