// SPDX-License-Identifier: GPL-2.0
/* Filling a struct obsbpf_config: each option's value from text, and options_parse: the
 * defaults, then the config file, then the command line. */
#include "options_int.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int opt_set_value(struct obsbpf_config *cfg, const struct opt_def *o, const char *v, const char *cmdname,
		  const char *where)
{
	char *p = (char *)cfg + o->offset;
	switch (o->type) {
	case OPT_STRING:
		*(const char **)p = v;
		return 0;
	case OPT_FLAG:
		*(bool *)p = true;
		return 0;
	case OPT_LIST: {
		struct str_list *l = (struct str_list *)p;
		if (l->n == OPT_LIST_MAX) {
			fprintf(stderr, "obsbpf %s: %s%s%s: at most %d values\n", cmdname, where ? where : "",
				where ? ": " : "--", o->name, OPT_LIST_MAX);
			return -1;
		}
		l->v[l->n++] = v;
		return 0;
	}
	case OPT_UINT: {
		char *end;
		errno = 0;
		unsigned long n = strtoul(v, &end, 10);
		if (errno || end == v || *end || n > UINT_MAX || v[0] == '-') {
			fprintf(stderr, "obsbpf %s: %s%s%s: '%s' is not a whole number\n", cmdname,
				where ? where : "", where ? ": " : "--", o->name, v);
			return -1;
		}
		*(unsigned *)p = (unsigned)n;
		return 0;
	}
	}
	return -1;
}

void options_free(struct obsbpf_config *cfg)
{
	free(cfg->config_text);
	cfg->config_text = NULL;
}

/* The option of another command that a refused argument names ("--pod", "--pod=x", "-p"). */
static const struct opt_def *other_command(const char *arg, int short_name)
{
	if (!strncmp(arg, "--", 2)) {
		size_t n = strcspn(arg + 2, "=");
		for (const struct opt_def *o = obsbpf_options; o->name; o++)
			if (strlen(o->name) == n && !strncmp(o->name, arg + 2, n))
				return o;
		return NULL;
	}
	for (const struct opt_def *o = obsbpf_options; short_name && o->name; o++)
		if (o->short_name == short_name)
			return o;
	return NULL;
}

int options_parse(struct obsbpf_config *cfg, unsigned cmd, const char *cmdname, int argc, char **argv)
{
	struct option longs[128];
	char shorts[128] = "+:";
	size_t n = 0, sl = 2;

	options_free(cfg);
	memset(cfg, 0, sizeof(*cfg));
	for (const struct opt_def *o = obsbpf_options; o->name; o++) {
		if (o->def && o->type != OPT_FLAG && opt_set_value(cfg, o, o->def, cmdname, NULL) < 0)
			return -1;
		if (!(o->cmds & cmd))
			continue;
		longs[n++] = (struct option){ o->name, o->type == OPT_FLAG ? no_argument : required_argument,
					      NULL, (int)(o - obsbpf_options) + 256 };
		if (o->short_name) {
			shorts[sl++] = o->short_name;
			if (o->type != OPT_FLAG)
				shorts[sl++] = ':';
		}
	}
	longs[n] = (struct option){ 0 };
	shorts[sl] = '\0';

	/* The command line is read first, to find --config, and applied after the file. */
	struct {
		const struct opt_def *o;
		const char *v;
	} *given = calloc((size_t)argc + 1, sizeof(*given));
	size_t ng = 0;
	int rc = -1;
	if (!given)
		return -1;
	optind = 1;
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, shorts, longs, NULL);
		if (c == -1)
			break;
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];
			const struct opt_def *other = c == '?' ? other_command(bad, optopt) : NULL;
			char takes[96];
			if (other) {
				opt_cmd_names(other->cmds, takes, sizeof(takes));
				fprintf(stderr, "obsbpf %s: '%s' is not an option of %s (%s take%s it)\n",
					cmdname, bad, cmdname, takes, strchr(takes, ',') ? "" : "s");
			} else {
				fprintf(stderr, "obsbpf %s: %s '%s' (see 'obsbpf %s --help')\n", cmdname,
					c == ':' ? "missing value for" : "unknown option", bad, cmdname);
			}
			goto out;
		}
		const struct opt_def *o = NULL;
		if (c >= 256) {
			o = &obsbpf_options[c - 256];
		} else {
			for (const struct opt_def *d = obsbpf_options; d->name; d++)
				if (d->short_name == c && (d->cmds & cmd))
					o = d;
		}
		if (!o)
			goto out;
		given[ng].o = o;
		given[ng++].v = optarg;
		if (o->offset == OFF(config))
			cfg->config = optarg;
	}
	if (optind < argc) {
		fprintf(stderr, "obsbpf %s: unexpected argument '%s'\n", cmdname, argv[optind]);
		goto out;
	}

	if (!cfg->config)
		cfg->config = getenv("OBSBPF_CONFIG");
	if (cfg->config && *cfg->config && options_config_load(cfg, cmd, cmdname, cfg->config) < 0)
		goto out;

	/* A list given on the command line replaces the file's, like any other option. */
	for (size_t i = 0; i < ng; i++) {
		const struct opt_def *o = given[i].o;
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = given[j].o != o;
		if (o->type == OPT_LIST && first)
			((struct str_list *)((char *)cfg + o->offset))->n = 0;
		if (opt_set_value(cfg, o, given[i].v, cmdname, NULL) < 0)
			goto out;
	}
	rc = 0;
out:
	free(given);
	return rc;
}
