/* SPDX-License-Identifier: GPL-2.0 */
/* Private to cli/options_*.c: what the option table, the command-line parser and the config
 * file reader share. The whole interface of the component is options.h. */
#ifndef OBSBPF_CLI_OPTIONS_INT_H
#define OBSBPF_CLI_OPTIONS_INT_H

#include "options.h"

#include <stddef.h>

#define OFF(f) offsetof(struct obsbpf_config, f)

/* Sets option o of cfg from the text v (strings are kept, not copied). where: NULL for the
 * command line, "FILE:LINE" for the config file; errors are printed with it. 0 or -1. */
int opt_set_value(struct obsbpf_config *cfg, const struct opt_def *o, const char *v, const char *cmdname,
		  const char *where);

/* options_help.c: the names of the subcommands in cmds ("attach, daemon"), into buf. */
void opt_cmd_names(unsigned cmds, char *buf, size_t n);

/* options_config.c: reads the --config file at path into cfg (its text kept in cfg->config_text)
 * for the subcommand cmd. 0, or -1 after printing FILE:LINE and the problem. */
int options_config_load(struct obsbpf_config *cfg, unsigned cmd, const char *cmdname, const char *path);

#endif
