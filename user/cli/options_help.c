// SPDX-License-Identifier: GPL-2.0
/* The option table rendered for people: --help for one subcommand, and the Markdown reference
 * docs/options.md is generated from. */
#include "options_int.h"

#include <string.h>

static void opt_synopsis(char *buf, size_t n, const struct opt_def *o)
{
	char sh[8] = "";
	if (o->short_name)
		snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
	snprintf(buf, n, "%s--%s%s%s", sh, o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
}

static const struct {
	unsigned bit;
	const char *name;
} cmd_names[] = {
	{ CMD_ATTACH, "attach" }, { CMD_DAEMON, "daemon" },   { CMD_LOGS, "logs" },
	{ CMD_STATUS, "status" }, { CMD_OBSERVE, "observe" }, { CMD_PROBE, "probe" },
};

void opt_cmd_names(unsigned cmds, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]) && len < n; i++)
		if (cmds & cmd_names[i].bit)
			len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? ", " : "",
						cmd_names[i].name);
}

void options_help(FILE *out, unsigned cmd)
{
	for (const struct opt_def *o = obsbpf_options; o->name; o++) {
		if (!(o->cmds & cmd))
			continue;
		char syn[96];
		opt_synopsis(syn, sizeof(syn), o);
		fprintf(out, "  %-30s %s", syn, o->help);
		if (o->def && o->type != OPT_FLAG)
			fprintf(out, " (default: %s)", o->def);
		if (o->type == OPT_LIST)
			fputs(" (repeatable)", out);
		fputc('\n', out);
	}
}

void options_markdown(FILE *out)
{
	fputs("| option | default | commands | meaning |\n|---|---|---|---|\n", out);
	for (const struct opt_def *o = obsbpf_options; o->name; o++) {
		char syn[96];
		opt_synopsis(syn, sizeof(syn), o);
		char used[96];
		opt_cmd_names(o->cmds, used, sizeof(used));
		for (char *c = used; (c = strstr(c, ", "));)
			memmove(c, c + 1, strlen(c)); /* "attach daemon" in the table */
		fprintf(out, "| `%s` | %s | %s | %s |\n", syn, o->def && o->type != OPT_FLAG ? o->def : "",
			o->cmds == ~0u ? "all" : used, o->help);
	}
}
