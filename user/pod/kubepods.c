// SPDX-License-Identifier: GPL-2.0
#include "kubepods.h"
#include "util/log.h"

#include "util/array.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static int copy_span(const char *s, size_t len, char *out, size_t n)
{
	if (len == 0 || len + 1 > n)
		return -ENOENT;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int kubepods_pod_uid(const char *d, char *uid, size_t n)
{
	if (!strncmp(d, "pod", 3) && !strchr(d, '.'))
		return copy_span(d + 3, strlen(d + 3), uid, n);
	const char *p = strstr(d, "-pod");
	if (strncmp(d, "kubepods", 8) || !p || !ends_with(d, ".slice"))
		return -ENOENT;
	p += 4;
	int err = copy_span(p, strlen(p) - 6, uid, n);
	for (char *c = uid; !err && *c; c++)
		if (*c == '_')
			*c = '-'; /* systemd escapes '-' in unit names */
	return err;
}

int kubepods_path_uid(const char *path, char *uid, size_t n)
{
	char seg[256];
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len && len < sizeof(seg)) {
			memcpy(seg, p, len);
			seg[len] = '\0';
			if (kubepods_pod_uid(seg, uid, n) == 0)
				return 0;
		}
		p += len;
	}
	return -ENOENT;
}

int kubepods_container_id(const char *d, char *id, size_t n)
{
	static const char *const prefixes[] = { "cri-containerd-", "crio-", "docker-" };
	if (!strncmp(d, "crio-conmon-", 12))
		return -ENOENT;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);
		if (!strncmp(d, prefixes[i], pl) && ends_with(d, ".scope"))
			return copy_span(d + pl, strlen(d) - pl - 6, id, n);
	}
	size_t len = strlen(d);
	if (len < 12)
		return -ENOENT;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)d[i]))
			return -ENOENT;
	return copy_span(d, len, id, n);
}

bool kubepods_qos_dir(const char *d)
{
	return !strcmp(d, "burstable") || !strcmp(d, "besteffort") ||
		!strcmp(d, "kubepods-burstable.slice") || !strcmp(d, "kubepods-besteffort.slice");
}

struct scan {
	struct kubepods_dir *pods;
	int npods;
	size_t cap;
	char (*dirs)[4096];
	int ndirs;
	size_t capdirs;
};

static int add_dir(struct scan *s, const char *path)
{
	if (!array_grow((void **)&s->dirs, &s->capdirs, (size_t)s->ndirs + 1, sizeof(*s->dirs)))
		return -ENOMEM;
	snprintf(s->dirs[s->ndirs++], sizeof(s->dirs[0]), "%s", path);
	return 0;
}

/* One level: pod dirs are collected, QoS dirs are descended into once. */
static int scan_dir(struct scan *s, const char *path, int depth)
{
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	int err = add_dir(s, path);
	struct dirent *de;
	while (!err && (de = readdir(d))) {
		char uid[128], sub[4096];
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub))
			continue;
		if (kubepods_pod_uid(de->d_name, uid, sizeof(uid)) == 0) {
			if (!array_grow((void **)&s->pods, &s->cap, (size_t)s->npods + 1, sizeof(*s->pods))) {
				err = -ENOMEM;
				break;
			}
			snprintf(s->pods[s->npods].path, sizeof(s->pods[0].path), "%s", sub);
			snprintf(s->pods[s->npods].uid, sizeof(s->pods[0].uid), "%s", uid);
			s->npods++;
		} else if (depth == 0 && kubepods_qos_dir(de->d_name)) {
			err = scan_dir(s, sub, 1);
		}
	}
	closedir(d);
	return err;
}

int kubepods_scan(const char *cg2, struct kubepods_dir **pods, char (**dirs)[4096], int *ndirs)
{
	static const char *const roots[] = { "kubepods", "kubepods.slice" };
	struct scan s = { 0 };
	int err = 0;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]) && !err; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", cg2, roots[i]);
		err = scan_dir(&s, path, 0);
	}
	if (err) {
		free(s.pods);
		free(s.dirs);
		return err;
	}
	*pods = s.pods;
	*dirs = s.dirs;
	*ndirs = s.ndirs;
	return s.npods;
}

static int add_entry(struct pod_select *s, const char *e, size_t len)
{
	const char *slash = memchr(e, '/', len);
	size_t nsl = slash ? (size_t)(slash - e) : 0;
	const char *g = slash ? slash + 1 : e;
	size_t gl = len - (size_t)(g - e);
	if (s->n == POD_SELECT_MAX || gl == 0 || gl >= sizeof(s->glob[0]) || nsl >= sizeof(s->ns[0]) ||
	    (slash && nsl == 0))
		return -EINVAL;
	memcpy(s->glob[s->n], g, gl);
	s->glob[s->n][gl] = '\0';
	memcpy(s->ns[s->n], e, nsl);
	s->ns[s->n][nsl] = '\0';
	s->n++;
	s->any = false;
	return 0;
}

int pod_select_parse(struct pod_select *s, const char *text, int *bad_line)
{
	int line = 0;
	for (const char *p = text; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		line++;
		while (len && isspace((unsigned char)*p))
			p++, len--;
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (len && *p != '#' && add_entry(s, p, len) < 0) {
			*bad_line = line;
			return -EINVAL;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

int pod_select_init(struct pod_select *s, const struct str_list *patterns, const char *list_file,
		    const char *namespace_)
{
	memset(s, 0, sizeof(*s));
	s->any = true;
	if (namespace_ && (!*namespace_ || strlen(namespace_) >= sizeof(s->only_ns))) {
		log_error("pod", "--namespace '%s': expected a namespace\n", namespace_);
		return -EINVAL;
	}
	if (namespace_)
		snprintf(s->only_ns, sizeof(s->only_ns), "%s", namespace_);
	for (unsigned i = 0; patterns && i < patterns->n; i++)
		if (add_entry(s, patterns->v[i], strlen(patterns->v[i])) < 0) {
			log_error("pod", "--pod-pattern '%s': expected GLOB or NAMESPACE/GLOB\n",
				  patterns->v[i]);
			return -EINVAL;
		}
	if (!list_file)
		return 0;
	FILE *f = fopen(list_file, "re");
	if (!f) {
		int e = errno;
		log_error("pod", "--pod-list %s: %s\n", list_file, strerror(e));
		return -e;
	}
	size_t cap = 1 << 16;
	char *buf = malloc(cap);
	size_t n = buf ? fread(buf, 1, cap - 1, f) : 0;
	fclose(f);
	if (!buf)
		return -ENOMEM;
	buf[n] = '\0';
	int bad = 0, err = pod_select_parse(s, buf, &bad);
	free(buf);
	if (err)
		log_error("pod",
			  "--pod-list %s: line %d: expected GLOB or NAMESPACE/GLOB (at most %d entries)\n",
			  list_file, bad, POD_SELECT_MAX);
	else if (s->n == 0)
		log_error("pod", "--pod-list %s: no entries: no pod would be attached\n", list_file),
			err = -EINVAL;
	return err;
}

bool pod_select_match(const struct pod_select *s, const char *ns, const char *name)
{
	bool known = ns && *ns;
	if (s->only_ns[0] && (!known || fnmatch(s->only_ns, ns, 0)))
		return false;
	if (s->any)
		return true;
	for (int i = 0; i < s->n; i++)
		if (fnmatch(s->glob[i], name, 0) == 0 &&
		    (!s->ns[i][0] || (known && !fnmatch(s->ns[i], ns, 0))))
			return true;
	return false;
}
