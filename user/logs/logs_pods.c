// SPDX-License-Identifier: GPL-2.0
/* Daemon mode's inputs: the kubelet's container log files of the selected pods, each with the
 * pod, container and restart count its path names, and per pod what was read (for `obsbpf
 * status`). A pod's entry lives while one of its files is followed. */
#include "logs.h"
#include "logs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pod/kubepods.h"
#include "tail.h"
#include "util/array.h"

static struct logs_pod *pod_ref(struct logs *l, const char *uid)
{
	for (int i = 0; i < l->npods; i++)
		if (!strcmp(l->pods[i]->uid, uid)) {
			l->pods[i]->files++;
			return l->pods[i];
		}
	struct logs_pod *p = calloc(1, sizeof(*p));
	if (!p || !array_grow((void **)&l->pods, &l->cap_pods, (size_t)l->npods + 1, sizeof(*l->pods))) {
		free(p);
		return NULL;
	}
	snprintf(p->uid, sizeof(p->uid), "%s", uid);
	p->files = 1;
	l->pods[l->npods++] = p;
	return p;
}

static void pod_unref(struct logs *l, struct logs_pod *p)
{
	if (--p->files > 0)
		return;
	for (int i = 0; i < l->npods; i++)
		if (l->pods[i] == p) {
			l->pods[i] = l->pods[--l->npods];
			break;
		}
	free(p);
}

void *logs_pod_file_new(void *arg, const char *path)
{
	struct logs *l = arg;
	struct logs_file_meta *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (pod_log_path_parse(path, &m->pl) < 0 ||
	    (l->select && !pod_select_match(l->select, m->pl.pod.namespace_, m->pl.pod.name)) ||
	    !(m->pod = pod_ref(l, m->pl.pod.uid))) {
		free(m);
		return NULL;
	}
	return m;
}

void logs_pod_file_free(void *arg, void *meta)
{
	struct logs_file_meta *m = meta;
	pod_unref(arg, m->pod);
	free(m);
}

void logs_pods_free(struct logs *l)
{
	for (int i = 0; i < l->npods; i++)
		free(l->pods[i]);
	free(l->pods);
	l->pods = NULL;
	l->npods = 0;
}

bool logs_pod_status(const struct logs *l, const char *uid, struct logs_pod_status *out)
{
	memset(out, 0, sizeof(*out));
	if (!l)
		return false;
	if (!l->node) { /* attach: the one pod's */
		const struct tail_stats *ts = tail_stats(l->tail);
		out->files = ts->files_open;
		out->lines = ts->lines;
		out->unparsed = l->cri_errors;
		out->truncated = ts->long_lines + l->cri_long_lines;
		return true;
	}
	for (int i = 0; uid && i < l->npods; i++)
		if (!strcmp(l->pods[i]->uid, uid)) {
			out->files = l->pods[i]->files;
			out->lines = l->pods[i]->lines;
			out->unparsed = l->pods[i]->unparsed;
			out->truncated = l->pods[i]->truncated;
			return true;
		}
	return true; /* on, nothing of this pod's followed (yet) */
}
