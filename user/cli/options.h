/* SPDX-License-Identifier: GPL-2.0 */
/* The one table of command-line options: it drives parsing, --help and docs/options.md. */
#ifndef OBSBPF_OPTIONS_H
#define OBSBPF_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"

enum opt_type {
	OPT_STRING,
	OPT_UINT,
	OPT_FLAG,
	OPT_LIST /* repeatable string: struct str_list */
};

/* Which subcommands accept an option (bit mask). */
enum {
	CMD_ATTACH = 1 << 0,
	CMD_PROBE = 1 << 1,
	CMD_LOGS = 1 << 2,
	CMD_DAEMON = 1 << 3,
	CMD_STATUS = 1 << 4,
	CMD_OBSERVE = 1 << 5,
};

struct opt_def {
	const char *name;
	char short_name; /* 0: none */
	enum opt_type type;
	size_t offset;	 /* into struct obsbpf_config */
	const char *def; /* default as text; NULL: unset */
	const char *metavar;
	const char *help;
	unsigned cmds;
};

extern const struct opt_def obsbpf_options[];

/* Resets cfg (zeroed, or filled by an earlier call) and fills it: defaults, then the --config
 * file (or $OBSBPF_CONFIG), then argv, so the command line wins. Returns 0, or -1 after printing
 * a one-line error (for the file: FILE:LINE and the problem). */
int options_parse(struct obsbpf_config *cfg, unsigned cmd, const char *cmdname, int argc, char **argv);
/* Frees what options_parse kept for cfg's values (the config file's text). */
void options_free(struct obsbpf_config *cfg);
void options_help(FILE *out, unsigned cmd);
/* Markdown reference of every option (docs/options.md is generated from this). */
void options_markdown(FILE *out);

#endif
