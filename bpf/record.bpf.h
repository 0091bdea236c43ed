/* SPDX-License-Identifier: GPL-2.0 */
/* The exchange recorder (bpf/record.bpf.c), a global subprogram: verified once. */
#ifndef OBSBPF_RECORD_BPF_H
#define OBSBPF_RECORD_BPF_H

#include "conn.bpf.h"

/* Records one request/response exchange that ended at end_ns with status. */
extern int obsbpf_record(struct obsbpf_conn *c, struct obsbpf_pending *p, __u64 end_ns, __u32 status,
			 struct obsbpf_addrs *a);

#endif
