/* SPDX-License-Identifier: GPL-2.0 */
/* TLS at the library (bpf/tls.bpf.c), as the socket hooks see it. */
#ifndef OBSBPF_TLS_BPF_H
#define OBSBPF_TLS_BPF_H

#include "conn.bpf.h"

/* A connection classified TLS moves bytes in the current thread: the process is marked as
 * doing TLS, and when the thread is inside an SSL call the SSL * is tied to the connection. */
extern int obsbpf_tls_tie(struct obsbpf_conn *c);

/* The connection closed, for reason (enum obsbpf_no_response): user space ends the requests
 * left unanswered on it and forgets the SSL *'s parsing (a connection an SSL call was seen on
 * only). */
extern int obsbpf_tls_closed(struct obsbpf_conn *c, __u32 reason);

#endif
