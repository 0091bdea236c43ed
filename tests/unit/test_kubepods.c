// SPDX-License-Identifier: GPL-2.0
/* Pod cgroup names (cgroupfs and systemd layouts), container dirs, pod selection, and the
 * control socket's human renderings. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctl/ctl.h"
#include "pod/identity.h"
#include "pod/kubepods.h"
#include "pod/pod.h"
#include "util/strbuf.h"

static void test_pod_uid(void **state)
{
	(void)state;
	char uid[128];
	assert_int_equal(kubepods_pod_uid("pod0f3c9a1e-7b2d-4c11-9e8f-1a2b3c4d5e6f", uid, sizeof(uid)), 0);
	assert_string_equal(uid, "0f3c9a1e-7b2d-4c11-9e8f-1a2b3c4d5e6f");
	/* systemd spells the uid's '-' as '_' */
	assert_int_equal(kubepods_pod_uid("kubepods-burstable-pod0f3c9a1e_7b2d_4c11_9e8f_1a2b3c4d5e6f.slice",
					  uid, sizeof(uid)),
			 0);
	assert_string_equal(uid, "0f3c9a1e-7b2d-4c11-9e8f-1a2b3c4d5e6f");
	assert_int_equal(kubepods_pod_uid("kubepods-pod1234.slice", uid, sizeof(uid)), 0); /* guaranteed */
	assert_string_equal(uid, "1234");
	assert_int_equal(kubepods_pod_uid("burstable", uid, sizeof(uid)), -ENOENT);
	assert_int_equal(kubepods_pod_uid("kubepods-burstable.slice", uid, sizeof(uid)), -ENOENT);
	assert_int_equal(kubepods_pod_uid("cri-containerd-abc.scope", uid, sizeof(uid)), -ENOENT);
	assert_int_equal(kubepods_pod_uid("pod", uid, sizeof(uid)), -ENOENT);
	assert_int_equal(kubepods_pod_uid("podx.scope", uid, sizeof(uid)), -ENOENT);
	assert_int_equal(kubepods_pod_uid("system.slice", uid, sizeof(uid)), -ENOENT);
	char small[4];
	assert_int_equal(kubepods_pod_uid("pod12345", small, sizeof(small)), -ENOENT);
}

static void test_container_id(void **state)
{
	(void)state;
	char id[128];
	assert_int_equal(kubepods_container_id("cri-containerd-4f1e2d3c4b5a.scope", id, sizeof(id)), 0);
	assert_string_equal(id, "4f1e2d3c4b5a");
	assert_int_equal(kubepods_container_id("crio-9a8b7c6d5e4f.scope", id, sizeof(id)), 0);
	assert_string_equal(id, "9a8b7c6d5e4f");
	assert_int_equal(kubepods_container_id("docker-0123456789ab.scope", id, sizeof(id)), 0);
	assert_string_equal(id, "0123456789ab");
	assert_int_equal(kubepods_container_id("0123456789abcdef0123", id, sizeof(id)), 0); /* cgroupfs */
	assert_string_equal(id, "0123456789abcdef0123");
	assert_int_equal(kubepods_container_id("crio-conmon-9a8b7c6d5e4f.scope", id, sizeof(id)), -ENOENT);
	assert_int_equal(kubepods_container_id("cgroup.procs", id, sizeof(id)), -ENOENT);
	assert_int_equal(kubepods_container_id("abc", id, sizeof(id)), -ENOENT);
}

static void test_qos_and_trim(void **state)
{
	(void)state;
	assert_true(kubepods_qos_dir("burstable"));
	assert_true(kubepods_qos_dir("kubepods-besteffort.slice"));
	assert_false(kubepods_qos_dir("pod1234"));
	/* The path of a process in a container, systemd layout, is cut after the pod. */
	char p[] =
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_34.slice/cri-containerd-ab.scope";
	pod_cgroup_trim(p);
	assert_string_equal(p, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_34.slice");
	char q[] = "/kubepods/besteffort/pod12-34/0123456789abcdef";
	pod_cgroup_trim(q);
	assert_string_equal(q, "/kubepods/besteffort/pod12-34");
}

/* A fake cgroup tree in a temp dir: both layouts, plus dirs that are no pods. */
static void test_scan(void **state)
{
	(void)state;
	char root[] = "/tmp/obsbpf-kubepods-XXXXXX";
	assert_non_null(mkdtemp(root));
	const char *dirs[] = {
		"kubepods",
		"kubepods/besteffort",
		"kubepods/besteffort/podaaa",
		"kubepods/besteffort/podaaa/0123456789abcdef",
		"kubepods/burstable",
		"kubepods/podggg",
		"kubepods/notapod",
		"kubepods.slice",
		"kubepods.slice/kubepods-burstable.slice",
		"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podb_b.slice",
		"kubepods.slice/kubepods-podccc.slice",
		"system.slice",
	};
	char path[512];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	struct kubepods_dir *pods;
	char(*watch)[4096];
	int nwatch;
	int n = kubepods_scan(root, &pods, &watch, &nwatch);
	assert_int_equal(n, 4);
	int found = 0;
	for (int i = 0; i < n; i++) {
		const char *rel = pods[i].path + strlen(root);
		if (!strcmp(rel, "/kubepods/besteffort/podaaa") && !strcmp(pods[i].uid, "aaa"))
			found |= 1;
		if (!strcmp(rel, "/kubepods/podggg") && !strcmp(pods[i].uid, "ggg"))
			found |= 2;
		if (!strcmp(rel,
			    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podb_b.slice") &&
		    !strcmp(pods[i].uid, "b-b"))
			found |= 4;
		if (!strcmp(rel, "/kubepods.slice/kubepods-podccc.slice") && !strcmp(pods[i].uid, "ccc"))
			found |= 8;
	}
	assert_int_equal(found, 15);
	assert_int_equal(nwatch, 5); /* the two roots and three QoS dirs */
	free(pods);
	free(watch);
	for (size_t i = sizeof(dirs) / sizeof(dirs[0]); i-- > 0;) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		rmdir(path);
	}
	rmdir(root);
}

static void test_select(void **state)
{
	(void)state;
	struct pod_select *s = malloc(sizeof(*s));
	assert_int_equal(pod_select_init(s, NULL, NULL, NULL), 0);
	assert_true(pod_select_match(s, NULL, "anything"));
	assert_true(pod_select_match(s, "shop", "anything"));

	/* Patterns filter on the pod's own namespace: NS/ never names it. */
	struct str_list pats = { { "web-*", "shop/api-?", "team-*/db-*" }, 3 };
	assert_int_equal(pod_select_init(s, &pats, NULL, NULL), 0);
	assert_true(pod_select_match(s, "shop", "web-7d4b9"));
	assert_true(pod_select_match(s, NULL, "web-7d4b9"));
	assert_true(pod_select_match(s, "shop", "api-1"));
	assert_false(pod_select_match(s, "billing", "api-1"));
	assert_false(pod_select_match(s, NULL, "api-1")); /* namespace not known: no NS/ match */
	assert_false(pod_select_match(s, "", "api-1"));
	assert_false(pod_select_match(s, "shop", "api-12"));
	assert_false(pod_select_match(s, "shop", "db-0"));
	assert_true(pod_select_match(s, "team-a", "db-0"));

	/* --namespace: only that namespace's pods (and only pods whose namespace is known) */
	assert_int_equal(pod_select_init(s, NULL, NULL, "shop"), 0);
	assert_true(pod_select_match(s, "shop", "anything"));
	assert_false(pod_select_match(s, "billing", "anything"));
	assert_false(pod_select_match(s, NULL, "anything"));
	assert_int_equal(pod_select_init(s, &pats, NULL, "shop"), 0);
	assert_true(pod_select_match(s, "shop", "web-1"));
	assert_false(pod_select_match(s, "team-a", "db-0"));
	assert_int_equal(pod_select_init(s, NULL, NULL, ""), -EINVAL);

	int bad = 0;
	assert_int_equal(pod_select_init(s, NULL, NULL, NULL), 0);
	assert_int_equal(pod_select_parse(s, "# pods to watch\n\n  db-*  \nbilling/pay-*\n", &bad), 0);
	assert_int_equal(s->n, 2);
	assert_true(pod_select_match(s, "x", "db-0"));
	assert_true(pod_select_match(s, "billing", "pay-x"));
	assert_false(pod_select_match(s, "shop", "pay-x"));
	assert_false(pod_select_match(s, "billing", "web-1"));
	assert_int_equal(pod_select_parse(s, "ok\n/nons\n", &bad), -EINVAL);
	assert_int_equal(bad, 2);

	struct str_list badpat = { { "shop/" }, 1 };
	assert_int_equal(pod_select_init(s, &badpat, NULL, NULL), -EINVAL);
	assert_int_equal(pod_select_init(s, NULL, "/nonexistent/obsbpf-pods", NULL), -ENOENT);
	free(s);
}

static void test_path_uid(void **state)
{
	(void)state;
	char uid[128];
	assert_int_equal(
		kubepods_path_uid("/kubepods/burstable/pod0f3c9a1e-7b2d/0123456789abcdef", uid, sizeof(uid)),
		0);
	assert_string_equal(uid, "0f3c9a1e-7b2d");
	assert_int_equal(
		kubepods_path_uid(
			"/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice/cri-containerd-ab.scope",
			uid, sizeof(uid)),
		0);
	assert_string_equal(uid, "12-34");
	assert_int_equal(kubepods_path_uid("/kubepods/pod99", uid, sizeof(uid)), 0);
	assert_string_equal(uid, "99");
	assert_int_equal(kubepods_path_uid("/system.slice/containerd.service", uid, sizeof(uid)), -ENOENT);
	assert_int_equal(kubepods_path_uid("/", uid, sizeof(uid)), -ENOENT);
	assert_int_equal(kubepods_path_uid("", uid, sizeof(uid)), -ENOENT);
}

static void test_logdir(void **state)
{
	(void)state;
	struct pod_meta m;
	assert_int_equal(pod_logdir_parse("shop_web-7d4b9-x2x_0f3c9a1e-7b2d-4c11-9e8f-1a2b3c4d5e6f", &m), 0);
	assert_string_equal(m.namespace_, "shop");
	assert_string_equal(m.name, "web-7d4b9-x2x");
	assert_string_equal(m.uid, "0f3c9a1e-7b2d-4c11-9e8f-1a2b3c4d5e6f");
	assert_int_equal(pod_logdir_parse("kube-system_coredns-5d78c9869d-abcde_uid1", &m), 0);
	assert_string_equal(m.name, "coredns-5d78c9869d-abcde");
	assert_int_equal(pod_logdir_parse("a.b_c", &m), -EINVAL);   /* one '_' */
	assert_int_equal(pod_logdir_parse("ns__uid", &m), -EINVAL); /* no name */
	assert_int_equal(pod_logdir_parse("_name_uid", &m), -EINVAL);
	assert_int_equal(pod_logdir_parse("ns_name_", &m), -EINVAL);
	assert_int_equal(pod_logdir_parse("", &m), -EINVAL);

	struct container_link l;
	assert_int_equal(container_link_parse("web-1_shop_app-0123456789abcdef.log", &l), 0);
	assert_string_equal(l.pod, "web-1");
	assert_string_equal(l.namespace_, "shop");
	assert_string_equal(l.container, "app");
	assert_string_equal(l.id, "0123456789abcdef");
	assert_int_equal(container_link_parse("web-1_shop_istio-proxy-abc.log", &l), 0);
	assert_string_equal(l.container, "istio-proxy");
	assert_string_equal(l.id, "abc");
	assert_int_equal(container_link_parse("web-1_shop_app.log", &l), -EINVAL);
	assert_int_equal(container_link_parse("web-1_shop_app-abc.txt", &l), -EINVAL);
	assert_int_equal(container_link_parse("web-1_app-abc.log", &l), -EINVAL);
	assert_int_equal(container_link_parse("web-1_shop_a_b-abc.log", &l), -EINVAL);
}

/* A node's /var/log/pods and /var/log/containers and a pod cgroup with two containers. */
static void test_identity_lookup(void **state)
{
	(void)state;
	char root[] = "/tmp/obsbpf-identity-XXXXXX", p[512];
	assert_non_null(mkdtemp(root));
	const char *dirs[] = { "pods",
			       "pods/shop_pg-0_uid-a",
			       "pods/billing_pg-0_uid-b",
			       "pods/x_y_uid-a2",
			       "containers",
			       "cg",
			       "cg/cri-containerd-aaaa1111bbbb2222.scope",
			       "cg/cri-containerd-cccc3333dddd4444.scope",
			       "cg/notacontainer" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	snprintf(p, sizeof(p), "%s/containers/pg-0_shop_db-aaaa1111bbbb2222.log", root);
	assert_int_equal(symlink("/nowhere", p), 0);
	snprintf(p, sizeof(p), "%s/pods", root);
	struct pod_meta m;
	assert_int_equal(pod_meta_from_logs(p, "uid-a", &m), 0);
	assert_string_equal(m.namespace_, "shop");
	assert_string_equal(m.name, "pg-0");
	assert_int_equal(pod_meta_from_logs(p, "uid-b", &m), 0);
	assert_string_equal(m.namespace_, "billing");
	assert_int_equal(pod_meta_from_logs(p, "id-a", &m), -ENOENT); /* a suffix of a uid is none */
	assert_int_equal(pod_meta_from_logs(p, "uid-c", &m), -ENOENT);
	assert_int_equal(pod_meta_from_logs("/nonexistent/obsbpf", "uid-a", &m), -ENOENT);
	assert_int_equal(pod_meta_from_logs("", "uid-a", &m), -ENOENT);

	struct pod_container c[4];
	char cg[512], links[512];
	snprintf(cg, sizeof(cg), "%s/cg", root);
	snprintf(links, sizeof(links), "%s/containers", root);
	int n = pod_containers(cg, links, c, 4);
	assert_int_equal(n, 2);
	int named = 0;
	for (int i = 0; i < n; i++) {
		if (!strcmp(c[i].id, "aaaa1111bbbb2222"))
			named += !strcmp(c[i].name, "db");
		else
			named += !strcmp(c[i].id, "cccc3333dddd4444") && !c[i].name[0] ? 2 : 0;
	}
	assert_int_equal(named, 3);
	assert_int_equal(pod_containers(cg, NULL, c, 1), 1);

	snprintf(p, sizeof(p), "%s/containers/pg-0_shop_db-aaaa1111bbbb2222.log", root);
	unlink(p);
	for (size_t i = sizeof(dirs) / sizeof(dirs[0]); i-- > 0;) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		rmdir(p);
	}
	rmdir(root);
}

static void test_render_event(void **state)
{
	(void)state;
	struct strbuf b;
	sb_init(&b);
	assert_int_equal(
		ctl_render_event(
			&b,
			"{\"time\":\"2026-11-24T09:41:07.123Z\",\"pod\":\"web-1\",\"namespace\":\"shop\","
			"\"dir\":\"server\",\"local\":\"10.0.0.2:8080\",\"peer\":\"10.0.0.7:51234\","
			"\"method\":\"GET\",\"route\":\"/items/:id\",\"status\":200,\"latency_ns\":1234567,"
			"\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}"),
		0);
	assert_string_equal(b.buf,
			    "09:41:07.123  shop/web-1  <- 10.0.0.7:51234  GET /items/:id  200  1.235ms  "
			    "4bf92f3577b34da6a3ce929d0e0e4736");
	sb_reset(&b);
	assert_int_equal(
		ctl_render_event(
			&b,
			"{\"time\":\"2026-11-24T09:41:08.000Z\",\"pod\":\"cli\",\"namespace\":\"d\","
			"\"dir\":\"client\",\"peer\":\"10.0.0.2:8080\",\"method\":\"POST\",\"route\":\"/\","
			"\"status\":503,\"latency_ns\":500000,\"trace_id\":null}"),
		0);
	assert_string_equal(b.buf, "09:41:08.000  d/cli  -> 10.0.0.2:8080  POST /  503  0.500ms  -");
	sb_reset(&b);
	/* no response: why, in place of the status */
	assert_int_equal(
		ctl_render_event(
			&b,
			"{\"time\":\"2026-11-24T09:41:09.000Z\",\"pod\":\"cli\",\"namespace\":\"d\","
			"\"dir\":\"client\",\"peer\":\"10.0.0.2:8080\",\"method\":\"GET\",\"route\":\"/\","
			"\"error_type\":\"timeout\",\"latency_ns\":1000000000,\"trace_id\":null}"),
		0);
	assert_string_equal(b.buf, "09:41:09.000  d/cli  -> 10.0.0.2:8080  GET /  timeout  1000.000ms  -");
	sb_reset(&b);
	assert_int_equal(ctl_render_event(&b, "not json"), -EINVAL);
	sb_free(&b);
}

static void test_render_status(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_int_equal(
		ctl_render_status(
			f,
			"{\"mode\":\"daemon\",\"pid\":42,\"node\":\"n1\",\"started\":\"2026-11-24T09:00:00Z\","
			"\"pods\":[{\"pod_id\":0,\"name\":\"web-1\",\"namespace\":\"shop\",\"cgroup\":\"/cg/pod1\",\"netns\":\"/proc/9/ns/net\","
			"\"tc\":\"tcx\",\"since\":\"2026-11-24T09:00:01Z\",\"interfaces\":[\"lo\",\"eth0\"],"
			"\"metrics\":true,\"traces\":{\"propagation\":\"w3c\",\"spans\":false},\"logs\":{\"files\":1},"
			"\"app_metrics\":{\"url\":\"http://localhost:8080/metrics\"},\"app_health\":null,"
			"\"errors\":[\"app metrics http://localhost:8080/metrics: Connection refused\"]}],"
			"\"other_pods\":[{\"uid\":\"u2\",\"namespace\":null,\"name\":\"kube-proxy-x\",\"state\":\"waiting\","
			"\"error\":\"no process in its own network and UTS namespaces\",\"logs\":{\"files\":2}}],"
			"\"programs\":[{\"id\":7,\"name\":\"obsbpf_sockops\",\"attached\":[\"cgroup /cg/pod1\"]}],"
			"\"maps\":[{\"name\":\"routes\",\"used\":64,\"max\":256,\"unit\":\"entries\"},"
			"{\"name\":\"conn_state\",\"used\":null,\"max\":0,\"unit\":\"entries\"}],"
			"\"counters\":{\"events_dropped\":3}}"),
		0);
	fclose(f);
	assert_non_null(strstr(text, "obsbpf daemon (pid 42) on node n1"));
	assert_non_null(strstr(text, "PODS (1)"));
	assert_non_null(strstr(text, "shop         web-1                          metrics,traces,logs,app "));
	assert_non_null(strstr(
		text, "\n      error: app metrics http://localhost:8080/metrics: Connection refused\n"));
	assert_non_null(strstr(text, "OTHER PODS (1)"));
	assert_non_null(
		strstr(text, "-            kube-proxy-x                   waiting       on    no process"));
	assert_non_null(strstr(text, "lo,eth0"));
	assert_non_null(strstr(text, "7        obsbpf_sockops         cgroup /cg/pod1"));
	assert_non_null(strstr(text, "routes                   64          256  25.0%"));
	assert_non_null(strstr(text, "conn_state              n/a"));
	assert_non_null(strstr(text, "events_dropped           3"));
	free(text);
	f = open_memstream(&text, &len);
	assert_int_equal(ctl_render_status(f, "[1,2]"), -EINVAL);
	fclose(f);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_uid),	     cmocka_unit_test(test_container_id),
		cmocka_unit_test(test_qos_and_trim), cmocka_unit_test(test_scan),
		cmocka_unit_test(test_select),	     cmocka_unit_test(test_path_uid),
		cmocka_unit_test(test_logdir),	     cmocka_unit_test(test_identity_lookup),
		cmocka_unit_test(test_render_event), cmocka_unit_test(test_render_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
