// SPDX-License-Identifier: GPL-2.0
/* The --config file reader (cli/options_config.c) on a file of the input's bytes, for the command the
 * first byte picks; then the values the agent parses further once read (the trace settings,
 * the Forward and listen addresses, the OTLP endpoint), as it does at start. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpf/trace_cfg.h"
#include "cli/options.h"
#include "fuzz.h"
#include "http/server.h"
#include "logs/forward.h"
#include "trace/internal.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet();
	unsetenv("OBSBPF_CONFIG");
	fd = memfd_create("obsbpf-fuzz-config", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

static void check_values(const struct obsbpf_config *c)
{
	struct trace_cfg tc;
	char err[256], host[256], port[16];
	trace_cfg_parse(c->propagation, c->sample_ratio, c->inject_to, &tc, err, sizeof(err));
	if (c->forward)
		forward_parse_addr(c->forward, host, sizeof(host), port, sizeof(port));
	struct sockaddr_storage ss;
	unsigned sl;
	if (c->listen)
		parse_listen_addr(c->listen, &ss, &sl);
	struct otlp_target t;
	otlp_target_resolve(&t, c->otlp_endpoint, c->otlp_protocol, NULL, NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		unsigned cmd;
		const char *name;
	} cmds[] = {
		{ CMD_ATTACH, "attach" }, { CMD_PROBE, "probe" },   { CMD_LOGS, "logs" },
		{ CMD_DAEMON, "daemon" }, { CMD_STATUS, "status" }, { CMD_OBSERVE, "observe" },
	};
	if (!size)
		return 0;
	unsigned pick = data[0] % (sizeof(cmds) / sizeof(cmds[0]));
	/* written over the last input, then cut to length: truncating to 0 first would free the
	 * memfd's pages, to allocate and clear them again on every run */
	FUZZ_CHECK(pwrite(fd, data + 1, size - 1, 0) == (ssize_t)(size - 1));
	FUZZ_CHECK(ftruncate(fd, (off_t)(size - 1)) == 0);

	char a0[16], a1[] = "--config", a2[64];
	snprintf(a0, sizeof(a0), "%s", cmds[pick].name);
	snprintf(a2, sizeof(a2), "%s", path);
	char *argv[] = { a0, a1, a2, NULL };
	struct obsbpf_config cfg = { 0 };
	if (options_parse(&cfg, cmds[pick].cmd, cmds[pick].name, 3, argv) == 0) {
		FUZZ_CHECK(cfg.pod_patterns.n <= OPT_LIST_MAX && cfg.labels.n <= OPT_LIST_MAX);
		FUZZ_CHECK(!memchr(data + 1, '\0', size - 1)); /* "not a text file" */
		check_values(&cfg);
	}
	options_free(&cfg);
	return 0;
}
