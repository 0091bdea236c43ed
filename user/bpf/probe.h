/* SPDX-License-Identifier: GPL-2.0 */
/* Feature probing: which kernel hooks this machine offers and what obsbpf does without them. */
#ifndef OBSBPF_PROBE_H
#define OBSBPF_PROBE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <bpf/libbpf.h>

/* Prints one line per feature. Returns true when `obsbpf attach` can work. */
bool probe_run(FILE *out, bool verbose);
/* Silent check before attach: returns NULL, or a one-line reason attach cannot work. */
const char *probe_required(void);
/* Whether tp_btf/sock_recv_length (in-process propagation) can be attached. */
bool probe_sock_recv_length(void);

/* A libbpf print callback that prints nothing: for probe loads whose failure is an answer. */
int probe_libbpf_silent(enum libbpf_print_level level, const char *fmt, va_list ap);

#endif
