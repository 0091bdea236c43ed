// SPDX-License-Identifier: GPL-2.0
/* The --config file: "name = value" lines, '#' comments, quoted and comma-separated values,
 * one file for every subcommand (see docs/config.md). */
#include "options_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Big enough for any sane config; a bigger file is a mistake (a log, a binary) to report. */
#define CONFIG_MAX_BYTES (1 << 20)

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static const struct opt_def *find_long(const char *name)
{
	for (const struct opt_def *o = obsbpf_options; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

static int parse_flag(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" },
				 *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i]))
			return *out = true, 0;
		if (!strcasecmp(v, no[i]))
			return *out = false, 0;
	}
	return -1;
}

/* One "name = value" line (already trimmed, comment removed). */
static int config_line(struct obsbpf_config *cfg, unsigned cmd, const char *cmdname, const char *where,
		       char *line)
{
	char *name = line, *value = NULL, *eq = strchr(line, '=');
	if (eq) {
		*eq = '\0';
		name = trim(line);
		value = trim(eq + 1);
	}
	const struct opt_def *o = find_long(name);
	if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name)) {
		fprintf(stderr, "obsbpf %s: %s: expected 'name = value', got '%s'\n", cmdname, where, name);
		return -1;
	}
	if (!o) {
		fprintf(stderr, "obsbpf %s: %s: unknown option '%s'\n", cmdname, where, name);
		return -1;
	}
	if (o->offset == OFF(config) || o->offset == OFF(help)) {
		fprintf(stderr, "obsbpf %s: %s: '%s' cannot be set in a config file\n", cmdname, where, name);
		return -1;
	}
	/* A setting the command does not implement is an error, never skipped: a DaemonSet's
	 * ConfigMap that asks for something the daemon does not do must not look as if it did. */
	if (!(o->cmds & cmd)) {
		char takes[96];
		opt_cmd_names(o->cmds, takes, sizeof(takes));
		fprintf(stderr, "obsbpf %s: %s: '%s' is not an option of %s (%s take%s it)\n", cmdname, where,
			name, cmdname, takes, strchr(takes, ',') ? "" : "s");
		return -1;
	}
	if (o->type == OPT_FLAG) {
		bool on = true;
		if (value && parse_flag(value, &on) < 0) {
			fprintf(stderr, "obsbpf %s: %s: %s: '%s' is not true or false\n", cmdname, where,
				name, value);
			return -1;
		}
		*(bool *)((char *)cfg + o->offset) = on;
		return 0;
	}
	if (!value || !*value) {
		fprintf(stderr, "obsbpf %s: %s: %s: missing value (write \"\" for an empty one)\n", cmdname,
			where, name);
		return -1;
	}
	size_t len = strlen(value);
	if (len >= 2 && value[0] == '"' && value[len - 1] == '"') { /* "": empty, or keeps spaces */
		value[len - 1] = '\0';
		return opt_set_value(cfg, o, value + 1, cmdname, where);
	}
	if (o->type != OPT_LIST)
		return opt_set_value(cfg, o, value, cmdname, where);
	for (char *save = NULL, *v = strtok_r(value, ",", &save); v; v = strtok_r(NULL, ",", &save))
		if (*(v = trim(v)) && opt_set_value(cfg, o, v, cmdname, where) < 0)
			return -1;
	return 0;
}

static int config_read(const char *path, char **text)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	/* The buffer grows as the file is read: a config is a few hundred bytes, and its text is
	 * kept for the life of the process (the values point into it). */
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	int err = buf ? 0 : -ENOMEM;
	errno = 0;
	while (!err) {
		n += fread(buf + n, 1, cap - n, f);
		if (ferror(f)) {
			err = -(errno ? errno : EIO);
		} else if (n < cap) {
			break; /* end of file */
		} else if (cap == CONFIG_MAX_BYTES) {
			err = fgetc(f) != EOF ? -EFBIG : ferror(f) ? -(errno ? errno : EIO) : 0;
			break;
		} else {
			cap = cap * 2 < CONFIG_MAX_BYTES ? cap * 2 : CONFIG_MAX_BYTES;
			char *grown = realloc(buf, cap + 1);
			if (grown)
				buf = grown;
			else
				err = -ENOMEM;
		}
	}
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n)) {
		free(buf);
		return -EINVAL;
	}
	*text = buf;
	return 0;
}

int options_config_load(struct obsbpf_config *cfg, unsigned cmd, const char *cmdname, const char *path)
{
	int err = config_read(path, &cfg->config_text);
	if (err < 0) {
		fprintf(stderr, "obsbpf %s: --config %s: %s\n", cmdname, path,
			err == -EFBIG		 ? "larger than 1 MiB"
				: err == -EINVAL ? "not a text file"
						 : strerror(-err));
		return -1;
	}
	unsigned lineno = 0;
	for (char *line = cfg->config_text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		/* '#' starts a comment at the start of a line or after a blank, so that values such as
		 * a URL's fragment or a shared key may still hold one. */
		for (char *h = strchr(line, '#'); h; h = strchr(h + 1, '#'))
			if (h == line || isspace((unsigned char)h[-1])) {
				*h = '\0';
				break;
			}
		char *l = trim(line);
		if (!*l)
			continue;
		char where[PATH_MAX + 16];
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (config_line(cfg, cmd, cmdname, where, l) < 0)
			return -1;
	}
	return 0;
}
