/* SPDX-License-Identifier: GPL-2.0 */
/* Loading each BPF program of the object by itself, as attach will load it, with the
 * verifier's statistics: what `obsbpf probe` reports and what the verifier-budget test checks. */
#ifndef OBSBPF_VERIFY_H
#define OBSBPF_VERIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define VERIFY_MAX_PROGS 16
/* Every program must verify within this many processed instructions (15% of the limit). */
#define VERIFY_BUDGET 150000

struct verify_result {
	char name[64];
	bool skipped; /* not loaded on this kernel (a hook it lacks): why says which */
	bool loaded;
	uint32_t insns;	 /* processed instructions */
	uint32_t states; /* total states */
	uint32_t peak;	 /* peak states */
	double ms;	 /* wall time of the load */
	char why[256];	 /* the verifier's last line on failure, or why it was skipped */
};

/* Loads every program of the object alone (with the variants datapath_open picks for this
 * kernel). Returns the number of results, or -errno when the object cannot be opened. */
int verify_programs(struct verify_result *out, int max);
/* One line per program: "NAME  insns N  states S  peak P  ms" or the failure. */
void verify_print(FILE *f, const struct verify_result *r, int n);

#endif
