// SPDX-License-Identifier: GPL-2.0
#include "verify.h"

#include "probe.h"
#include "variant.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <obsbpf/types.h>

#include "obsbpf.skel.h"

/* BPF_LOG_STATS: the verifier's closing statistics, and its error line when it rejects. */
#define LOG_STATS 4
#define LOG_SIZE  (256 * 1024)

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The log's last line that is not the statistics: the verifier's reason for a rejection. */
static void last_reason(const char *log, char *out, size_t n)
{
	const char *best = NULL, *p = log;
	size_t best_len = 0;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len && strncmp(p, "processed ", 10) && strncmp(p, "verification time", 17) &&
		    strncmp(p, "stack depth", 11) && strncmp(p, "-- END PROG LOAD LOG --", 23)) {
			best = p;
			best_len = len;
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (!best)
		snprintf(out, n, "rejected (no verifier log)");
	else
		snprintf(out, n, "%.*s", (int)(best_len < n - 1 ? best_len : n - 1), best);
}

static void parse_stats(const char *log, struct verify_result *r)
{
	const char *p = strstr(log, "processed ");
	if (p)
		sscanf(p,
		       "processed %u insns (limit %*u) max_states_per_insn %*u total_states %u peak_states %u",
		       &r->insns, &r->states, &r->peak);
}

/* Loads program `which` of the object alone. */
static void verify_one(int which, struct verify_result *r, char *log)
{
	struct obsbpf_bpf *s = obsbpf_bpf__open();
	if (!s) {
		snprintf(r->why, sizeof(r->why), "open BPF object: %s", strerror(errno));
		return;
	}
	struct kernel_variant kv;
	variant_apply(s, &kv);
	struct bpf_program *p, *mine = NULL;
	int i = 0;
	bpf_object__for_each_program(p, s->obj)
	{
		if (i++ == which) {
			mine = p;
			snprintf(r->name, sizeof(r->name), "%s", bpf_program__name(p));
		}
	}
	if (mine && !bpf_program__autoload(mine)) {
		r->skipped = true;
		snprintf(r->why, sizeof(r->why), "%s", variant_skip_reason(&kv, r->name));
		obsbpf_bpf__destroy(s);
		return;
	}
	bpf_object__for_each_program(p, s->obj)
	{
		bpf_program__set_autoload(p, p == mine);
		if (p == mine) {
			log[0] = '\0';
			bpf_program__set_log_buf(p, log, LOG_SIZE);
			bpf_program__set_log_level(p, LOG_STATS);
		}
	}
	double t0 = now_ms();
	int err = obsbpf_bpf__load(s);
	r->ms = now_ms() - t0;
	parse_stats(log, r);
	if (err == 0)
		r->loaded = true;
	else if (log[0])
		last_reason(log, r->why, sizeof(r->why));
	else
		snprintf(r->why, sizeof(r->why), "load: %s", strerror(-err));
	obsbpf_bpf__destroy(s);
}

int verify_programs(struct verify_result *out, int max)
{
	struct obsbpf_bpf *s = obsbpf_bpf__open();
	if (!s)
		return -errno;
	int n = 0;
	struct bpf_program *p;
	bpf_object__for_each_program(p, s->obj) n++;
	obsbpf_bpf__destroy(s);
	if (n > max)
		n = max;
	char *log = malloc(LOG_SIZE);
	if (!log)
		return -ENOMEM;
	libbpf_print_fn_t old = libbpf_set_print(probe_libbpf_silent);
	for (int i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		verify_one(i, &out[i], log);
	}
	libbpf_set_print(old);
	free(log);
	return n;
}

void verify_print(FILE *f, const struct verify_result *r, int n)
{
	for (int i = 0; i < n; i++) {
		if (r[i].skipped)
			fprintf(f, "skip %-22s %s\n", r[i].name, r[i].why);
		else if (r[i].loaded)
			fprintf(f, "%-4s %-22s insns %7u  states %6u  peak %5u  %7.1f ms%s\n",
				r[i].insns <= VERIFY_BUDGET ? "ok" : "BIG", r[i].name, r[i].insns,
				r[i].states, r[i].peak, r[i].ms,
				r[i].insns <= VERIFY_BUDGET ? "" : "  (over the 150k budget)");
		else
			fprintf(f, "FAIL %-22s %s (insns %u)\n", r[i].name, r[i].why, r[i].insns);
	}
}
