#!/usr/bin/python3
"""Lints deploy/ against the code: the manifests carry what the agent needs (privileges, host
namespaces, mounts, probes on its real port and paths), their obsbpf command lines parse with the
binary at hand, the config example is accepted, the Dockerfile builds with the project's own
dependency list and installs every library the binary links, the Prometheus files agree with the
manifests, and the Grafana dashboard queries metric and label names the agent really exports.

  deploy_lint.py --obsbpf BIN [--metrics FILE] [--image-binary BIN]

FILE is a /metrics scrape of an agent that served and sent requests (test_deploy_lint.sh makes
one). Prints "  ok: ..." / "  FAIL: ..." per check (and "  SKIP: ..." for what this build cannot
check yet); exits 1 when a check failed. Uses Debian's python3-yaml.
"""
import argparse
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
PORT = 9102
FAILS = 0


def ok(msg):
    print("  ok: " + msg)


def fail(msg):
    global FAILS
    FAILS += 1
    print("  FAIL: " + msg)


def check(cond, msg, why=""):
    if cond:
        ok(msg)
    else:
        fail(msg + (": " + why if why else ""))
    return cond


def skip(msg):
    print("  SKIP: " + msg)


def rel(path):
    return os.path.relpath(path, ROOT)


# --- YAML ------------------------------------------------------------------------------------

def load_yaml_docs():
    docs = {}
    for path in sorted(glob.glob(os.path.join(DEPLOY, "**", "*.y*ml"), recursive=True)):
        try:
            with open(path) as f:
                docs[path] = [d for d in yaml.safe_load_all(f) if d is not None]
            check(docs[path], "%s parses as YAML (%d documents)" % (rel(path), len(docs[path])),
                  "no documents")
        except yaml.YAMLError as e:
            fail("%s: %s" % (rel(path), str(e).replace("\n", " ")))
    return docs


def k8s_objects(docs):
    objs = []
    for path, ds in docs.items():
        for d in ds:
            if isinstance(d, dict) and "kind" in d:
                if not ("apiVersion" in d and d.get("metadata", {}).get("name")):
                    fail("%s: a %s without apiVersion or metadata.name" % (rel(path), d["kind"]))
                objs.append((path, d))
    return objs


def find(objs, kind, path_suffix=None):
    return [d for p, d in objs if d["kind"] == kind and (not path_suffix or p.endswith(path_suffix))]


def container(spec, name):
    """A container or init container (a native sidecar is one) of the pod spec, by name."""
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        if c.get("name") == name:
            return c
    return None


def port_number(c, port):
    """A probe's or Service's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    for p in c.get("ports", []):
        if p.get("name") == port:
            return p.get("containerPort")
    return None


def mounts_by_host_path(spec, c):
    """{host path: (mount path, readOnly, propagation)} of the container's hostPath mounts."""
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    out = {}
    for m in c.get("volumeMounts", []):
        v = vols.get(m["name"], {})
        if "hostPath" in v:
            host = v["hostPath"]["path"]
            if m.get("subPath"):
                host = host.rstrip("/") + "/" + m["subPath"]
            out[host] = (m["mountPath"], m.get("readOnly", False), m.get("mountPropagation"))
    return out


def env_field(c, name):
    for e in c.get("env", []):
        if e.get("name") == name:
            return e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
    return None


def check_agent_container(where, spec, c, annotations, probes):
    sc = c.get("securityContext", {})
    caps = sc.get("capabilities", {})
    check(not sc.get("privileged") and caps.get("drop") == ["ALL"] and caps.get("add"),
          where + ": not privileged; capabilities: drop ALL, add a list (test_least_privilege.sh checks it)",
          "got %s" % sc)
    check(sc.get("seccompProfile", {}).get("type") == "Unconfined",
          where + ": seccomp Unconfined (runtime default profiles deny bpf(2))")
    # A read-only root: every path the agent writes by default is a writable volume.
    check(sc.get("readOnlyRootFilesystem") is True, where + ": readOnlyRootFilesystem")
    writable = [m["mountPath"] for m in c.get("volumeMounts", []) if not m.get("readOnly")]
    for path, what in (("/run/obsbpf", "control socket"), ("/var/lib/obsbpf", "log checkpoints"),
                       ("/sys/fs/bpf", "pinned sockhashes (--pin-dir)")):
        check(any(path == w or path.startswith(w.rstrip("/") + "/") for w in writable),
              "%s: %s (%s) on a writable volume" % (where, path, what), "writable: %s" % writable)
    check(env_field(c, "NODE_NAME") == "spec.nodeName", where + ": NODE_NAME from spec.nodeName")
    for kind, path in probes.items():
        hg = c.get(kind, {}).get("httpGet", {})
        if path is None:
            check(kind not in c, "%s: no %s" % (where, kind), "got %s" % c.get(kind))
            continue
        check(hg.get("path") == path and port_number(c, hg.get("port")) == PORT,
              "%s: %s GET %s on %d" % (where, kind, path, PORT), "got %s" % hg)
    # The startup probe covers the BPF load and attach: the liveness probe needs no initial delay.
    sp = c.get("startupProbe", {})
    check(sp.get("periodSeconds", 10) * sp.get("failureThreshold", 3) >= 30 and
          not c.get("livenessProbe", {}).get("initialDelaySeconds"),
          where + ": the startup probe allows >= 30 s for the load, the liveness probe waits for it",
          "startupProbe %s" % sp)
    check(any(p.get("containerPort") == PORT and p.get("name") == "metrics" for p in c.get("ports", [])),
          "%s: container port %d named metrics" % (where, PORT))
    # A stock annotation-based job (prometheus.io/scrape) would scrape the agent a second time,
    # next to deploy/prometheus/'s job.
    check(not any(k.startswith("prometheus.io/") for k in annotations),
          where + ": no prometheus.io annotations (deploy/prometheus/ finds the agent by container and port)",
          "got %s" % annotations)
    res = c.get("resources", {})
    check(all(res.get(k, {}).get(r) for k in ("requests", "limits") for r in ("cpu", "memory")),
          where + ": cpu and memory requests and limits")


def check_daemonset(objs, example_text):
    dss = find(objs, "DaemonSet")
    if not check(len(dss) == 1, "one DaemonSet in deploy/", "found %d" % len(dss)):
        return None
    ds = dss[0]
    ns = ds["metadata"].get("namespace")
    check(ns == "obsbpf", "DaemonSet in namespace obsbpf")
    check(any(n["metadata"]["name"] == ns for n in find(objs, "Namespace")), "its Namespace is declared")
    tpl = ds["spec"]["template"]
    spec = tpl["spec"]
    check(ds["spec"]["selector"]["matchLabels"].items() <= tpl["metadata"]["labels"].items(),
          "DaemonSet selector matches its pod labels")
    sa = spec.get("serviceAccountName")
    check(any(s["metadata"]["name"] == sa and s["metadata"].get("namespace") == ns
              for s in find(objs, "ServiceAccount")), "ServiceAccount %s declared in %s" % (sa, ns))
    check(spec.get("hostPID") is True, "DaemonSet: hostPID (pods' processes, /proc/PID/ns/*, /proc/PID/root)")
    check(spec.get("hostNetwork") is True, "DaemonSet: hostNetwork (:%d per node)" % PORT)
    check(any(t.get("operator") == "Exists" and not t.get("key") and not t.get("effect")
              for t in spec.get("tolerations", [])), "DaemonSet: tolerates every taint (runs on every node)")
    c = container(spec, "obsbpf")
    if not check(c is not None, "DaemonSet: an obsbpf container"):
        return None
    check_agent_container("DaemonSet", spec, c, tpl["metadata"].get("annotations", {}),
                          {"startupProbe": "/healthz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"})
    m = mounts_by_host_path(spec, c)
    want = {
        "/sys/fs/bpf": ("/sys/fs/bpf", None),
        "/sys/fs/cgroup": ("/sys/fs/cgroup", None),
        "/var/log/pods": ("/var/log/pods", True),
        "/var/log/containers": ("/var/log/containers", True),
        "/var/lib/kubelet/pods": ("/var/lib/kubelet/pods", True),
        "/run/obsbpf": ("/run/obsbpf", None),
        "/sys/kernel/btf": ("/sys/kernel/btf", True),
        "/var/lib/obsbpf": ("/var/lib/obsbpf", None),
    }
    for host, (mnt, ro) in want.items():
        got = m.get(host)
        check(got is not None and got[0] == mnt and (ro is None or got[1] == ro),
              "DaemonSet: host %s mounted at %s%s" % (host, mnt, " read-only" if ro else ""), "got %s" % (got,))
    check(m.get("/sys/fs/bpf", (None, None, None))[2] == "Bidirectional", "DaemonSet: bpffs mount Bidirectional")
    # The config file: mounted from the ConfigMap, which carries the example verbatim.
    cms = {c_["metadata"]["name"]: c_ for c_ in find(objs, "ConfigMap")}
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    cm_mount = [mt["mountPath"] for mt in c.get("volumeMounts", []) if "configMap" in vols.get(mt["name"], {})]
    cm_name = [v["configMap"]["name"] for v in vols.values() if "configMap" in v]
    argv = agent_argv(c)
    conf = argv[argv.index("--config") + 1] if "--config" in argv else None
    check(conf is not None and cm_mount and os.path.dirname(conf) == cm_mount[0],
          "DaemonSet: --config %s is in the ConfigMap's mount %s" % (conf, cm_mount))
    data = cms.get(cm_name[0] if cm_name else "", {}).get("data", {})
    check(conf is not None and data.get(os.path.basename(conf)) == example_text,
          "ConfigMap's %s is deploy/obsbpf.conf.example verbatim" % (os.path.basename(conf) if conf else "?"))
    return ds


def check_sidecar(objs):
    pods = find(objs, "Pod", "sidecar.yaml") + [d["spec"]["template"] for d in find(objs, "Deployment", "sidecar.yaml")]
    if not check(len(pods) == 1, "sidecar.yaml: one Pod or Deployment"):
        return
    pod = pods[0]
    spec = pod["spec"]
    check(spec.get("shareProcessNamespace") is True, "sidecar: shareProcessNamespace")
    c = container(spec, "obsbpf")
    apps = [x for x in spec.get("containers", []) if x.get("name") != "obsbpf"]
    if not check(c is not None and apps, "sidecar: an app container and an obsbpf container"):
        return
    # A native sidecar: an init container that keeps running, started before the app; no
    # readiness probe (a sidecar's readiness is the pod's: a failing agent must not take the
    # app out of its Service).
    check(c in spec.get("initContainers", []) and c.get("restartPolicy") == "Always",
          "sidecar: a native sidecar (init container, restartPolicy: Always)")
    check_agent_container("sidecar", spec, c, pod["metadata"].get("annotations", {}),
                          {"startupProbe": "/healthz", "readinessProbe": None, "livenessProbe": "/healthz"})
    for var, field in (("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace")):
        check(env_field(c, var) == field, "sidecar: %s from %s (downward API)" % (var, field))
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    logvol = [mt["name"] for mt in apps[0].get("volumeMounts", []) if mt["mountPath"] == "/var/log/app"]
    check(logvol and any(mt["name"] == logvol[0] and mt["mountPath"] == "/var/log/app" for mt in c.get("volumeMounts", []))
          and "emptyDir" in vols.get(logvol[0], {}), "sidecar: app log volume (emptyDir) shared at /var/log/app")
    m = mounts_by_host_path(spec, c)
    for host in ("/sys/fs/bpf", "/sys/fs/cgroup", "/sys/kernel/btf"):
        check(m.get(host, ("",))[0] == host, "sidecar: host %s mounted" % host)
    argv = agent_argv(c)
    check(argv[:1] == ["attach"] and "--pod" in argv, "sidecar runs obsbpf attach --pod", "argv %s" % argv)
    if "--pod" in argv:
        check(argv[argv.index("--pod") + 1] in ("$POD_NAME", "$(POD_NAME)"), "sidecar: --pod is the downward API's POD_NAME")


# --- the obsbpf command lines in the manifests ----------------------------------------------

def agent_argv(c):
    """The obsbpf argv (after the program name) a container runs: the image's ENTRYPOINT is
    obsbpf, or an explicit command, or a shell script whose `exec obsbpf ...` line runs it."""
    cmd, args = c.get("command", []), c.get("args", [])
    if not cmd:
        return list(args)
    if os.path.basename(cmd[0]) == "obsbpf":
        return list(cmd[1:]) + list(args)
    if os.path.basename(cmd[0]) in ("sh", "bash") and "-c" in cmd + args:
        script = (cmd + args)[(cmd + args).index("-c") + 1]
        for line in script.splitlines():
            words = shlex.split(line.strip())
            if words[:2] == ["exec", "obsbpf"]:
                return words[2:]
    return []


def check_command_lines(objs, obsbpf):
    for path, d in objs:
        spec = d.get("spec", {})
        spec = spec.get("template", {}).get("spec", spec)
        cs = spec.get("containers", []) + spec.get("initContainers", []) if isinstance(spec, dict) else []
        for c in cs:
            if "obsbpf" not in c.get("image", "") and c.get("name") != "obsbpf":
                continue
            argv = agent_argv(c)
            where = "%s %s/%s" % (rel(path), d["kind"], c["name"])
            if not check(argv and not argv[0].startswith("-"), where + ": runs an obsbpf subcommand", "argv %s" % argv):
                continue
            # The config file lives in a ConfigMap; parse the example it is a copy of.
            run = [os.path.join(DEPLOY, "obsbpf.conf.example") if i > 0 and argv[i - 1] == "--config" else a
                   for i, a in enumerate(argv)]
            # --help after the manifest's flags: the whole command line is parsed (names, values,
            # whether the subcommand takes them), then obsbpf exits without attaching.
            r = subprocess.run([obsbpf] + run + ["--help"], capture_output=True, text=True, timeout=20)
            if r.returncode != 0 and "unknown command '%s'" % argv[0] in r.stderr and argv[0] == "daemon":
                skip("%s: `obsbpf daemon` is not in this build (pending: daemon); flags not checked: %s"
                     % (where, " ".join(a for a in argv if a.startswith("--"))))
                continue
            check(r.returncode == 0, "%s: `obsbpf %s --help` accepts the manifest's flags" % (where, " ".join(argv)),
                  r.stderr.strip())


def check_config_example(obsbpf, cmds):
    example = os.path.join(DEPLOY, "obsbpf.conf.example")
    for cmd in cmds:
        r = subprocess.run([obsbpf, cmd, "--config", example, "--help"], capture_output=True, text=True, timeout=20)
        check(r.returncode == 0, "obsbpf %s --config deploy/obsbpf.conf.example accepted" % cmd, r.stderr.strip())
    # The check can fail: a misspelt key in a copy is reported with file and line.
    with open(example) as f:
        text = f.read()
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as bad:
        bad.write(text + "max-route = 12\n")
        bad.flush()
        r = subprocess.run([obsbpf, cmds[0], "--config", bad.name, "--help"], capture_output=True, text=True, timeout=20)
        want = "%s:%d: unknown option 'max-route'" % (bad.name, text.count("\n") + 1)
        check(r.returncode != 0 and want in r.stderr, "a misspelt key fails with FILE:LINE", r.stderr.strip())
    # A key the command does not implement is an error naming it, never skipped: the example is
    # the daemon's, and attach refuses the daemon's own keys in it.
    r = subprocess.run([obsbpf, "attach", "--config", example, "--help"], capture_output=True, text=True, timeout=20)
    m = re.search(r"^(pod-logs)\s*=", text, re.M)
    want = "%s:%d: 'pod-logs' is not an option of attach (daemon takes it)" % (
        example, text[:m.start()].count("\n") + 1) if m else "pod-logs"
    check(m and r.returncode != 0 and want in r.stderr,
          "a key of another command fails with FILE:LINE and who takes it", r.stderr.strip())
    m = re.search(r"^listen\s*=\s*\S*:(\d+)\s*$", text, re.M)
    check(m and int(m.group(1)) == PORT, "config example listens on %d, the probes' port" % PORT)


# --- Dockerfile --------------------------------------------------------------------------------

def dockerfile_stages(text):
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            stages.append({"image": m.group(1), "name": m.group(2), "lines": []})
        elif stages:
            stages[-1]["lines"].append((word.upper(), rest.strip()))
    return stages


def needed_packages(binary):
    """Debian packages of the shared libraries the binary links directly (readelf NEEDED)."""
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    libs = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    pkgs = {}
    for lib in libs:
        m = re.search(r"^\s*%s \(libc6,x86-64[^)]*\) => (\S+)" % re.escape(lib), cache, re.M) or \
            re.search(r"^\s*%s \([^)]*\) => (\S+)" % re.escape(lib), cache, re.M)
        if not m:
            pkgs[lib] = None
            continue
        path = os.path.realpath(m.group(1))
        r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if r.returncode != 0:  # merged /usr: dpkg knows the /lib path
            r = subprocess.run(["dpkg", "-S", path.replace("/usr/lib/", "/lib/", 1)], capture_output=True, text=True)
        pkgs[lib] = r.stdout.split(":")[0] if r.returncode == 0 else None
    return pkgs


def check_dockerfile(obsbpf):
    path = os.path.join(DEPLOY, "Dockerfile")
    with open(path) as f:
        stages = dockerfile_stages(f.read())
    if not check(len(stages) >= 2, "Dockerfile: multi-stage (%d stages)" % len(stages)):
        return
    build, run = stages[0], stages[-1]
    debian12 = re.compile(r"^debian:(12|bookworm)([-.\w]*)$")
    check(all(debian12.match(s["image"]) for s in (build, run)), "Dockerfile: both stages on Debian 12",
          ", ".join(s["image"] for s in stages))
    runs = " ".join(r for w, r in build["lines"] if w == "RUN")
    check("deploy/install-deps.sh --build-only" in runs, "Dockerfile: build stage installs with deploy/install-deps.sh --build-only")
    check(any(w == "COPY" and "deploy/install-deps.sh" in r for w, r in build["lines"]),
          "Dockerfile: copies install-deps.sh into the build stage")
    check(re.search(r"\bmake\b", runs) is not None, "Dockerfile: build stage runs make")
    check(any(w == "COPY" and r.startswith("--from=%s " % build["name"]) and "obsbpf" in r for w, r in run["lines"]),
          "Dockerfile: runtime stage copies the binary from the build stage")
    ep = [r for w, r in run["lines"] if w == "ENTRYPOINT"]
    check(ep and os.path.basename(json.loads(ep[-1])[0]) == "obsbpf", "Dockerfile: ENTRYPOINT obsbpf")
    check(not any(w == "USER" for s in stages for w, _ in s["lines"]), "Dockerfile: runs as root (no USER): BPF needs it")
    run_runs = " ".join(r for w, r in run["lines"] if w == "RUN")
    check(not re.search(r"-dev\b|\bclang\b|\bgcc\b|install-deps", run_runs), "Dockerfile: runtime stage has no build tools")
    installed = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", run_runs.split("install", 1)[1] if "install" in run_runs else ""))
    if not check(os.path.exists(obsbpf), "Dockerfile: %s built, to check its libraries" % rel(obsbpf)):
        return
    for lib, pkg in sorted(needed_packages(obsbpf).items()):
        if pkg in ("libc6",):
            continue
        check(pkg in installed, "Dockerfile: runtime installs %s (for %s, linked by obsbpf)" % (pkg, lib))
    di = os.path.join(ROOT, ".dockerignore")
    text = open(di).read() if os.path.exists(di) else ""
    check("build/" in text and "node_modules" in text, ".dockerignore: build/ and node_modules")


# --- Prometheus ------------------------------------------------------------------------------

def check_prometheus(docs, objs, ds):
    path = os.path.join(DEPLOY, "prometheus", "scrape-config.yaml")
    cfg = docs.get(path, [{}])[0]
    jobs = [j for j in cfg.get("scrape_configs", []) if j.get("job_name") == "obsbpf"]
    if not check(len(jobs) == 1, "scrape-config.yaml: an obsbpf job"):
        return
    job = jobs[0]
    roles = [s.get("role") for s in job.get("kubernetes_sd_configs", [])]
    check(roles and all(r in ("pod", "endpoints") for r in roles), "scrape job discovers with kubernetes_sd_configs role pod/endpoints", roles)
    rl = job.get("relabel_configs", [])
    metas = [s for r in rl for s in r.get("source_labels", []) if s.startswith("__meta_kubernetes_")]
    prefixes = ("__meta_kubernetes_pod_", "__meta_kubernetes_namespace") + \
        (("__meta_kubernetes_endpoint", "__meta_kubernetes_service_") if "endpoints" in roles else ())
    check(metas and all(m.startswith(prefixes) for m in metas), "scrape job uses only its roles' meta labels", metas)
    check(any(r.get("target_label") == "node" and r.get("source_labels") == ["__meta_kubernetes_pod_node_name"] for r in rl),
          "scrape job labels targets with their node")
    # The relabelling selects the DaemonSet's pod: its container name and port name.
    keeps = [r for r in rl if r.get("action") == "keep"]
    if ds:
        tpl = ds["spec"]["template"]
        c = container(tpl["spec"], "obsbpf")
        port = [p for p in c["ports"] if p["containerPort"] == PORT][0]
        meta = {"__meta_kubernetes_pod_container_name": c["name"],
                "__meta_kubernetes_pod_container_port_name": port.get("name", ""),
                "__meta_kubernetes_pod_container_port_number": str(port["containerPort"]),
                "__meta_kubernetes_pod_label_app_kubernetes_io_name": tpl["metadata"]["labels"].get("app.kubernetes.io/name", "")}
        kept = all(re.fullmatch(r.get("regex", "(.*)"), r.get("separator", ";").join(meta.get(s, "") for s in r["source_labels"]))
                   for r in keeps)
        check(keeps and kept, "scrape job's keep rules select the DaemonSet's obsbpf container port")
        # ...and not a stock annotation-scraped pod's port, nor the app's in a sidecar pod.
        other = dict(meta, __meta_kubernetes_pod_container_name="app",
                     __meta_kubernetes_pod_container_port_name="http")
        check(not all(re.fullmatch(r.get("regex", "(.*)"), r.get("separator", ";").join(other.get(s, "") for s in r["source_labels"]))
                      for r in keeps), "scrape job's keep rules leave other containers' ports alone")
    check(not any("annotation_prometheus_io" in s_ for r in rl for s_ in r.get("source_labels", [])),
          "scrape job does not depend on prometheus.io annotations")
    # Debian's Prometheus is built without Kubernetes discovery: check the rest with promtool.
    promtool = shutil.which("promtool")
    if check(promtool is not None, "promtool installed"):
        j = dict(job)
        j.pop("kubernetes_sd_configs", None)
        j["static_configs"] = [{"targets": ["127.0.0.1:%d" % PORT]}]
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump({"scrape_configs": [j]}, f)
            f.flush()
            r = subprocess.run([promtool, "check", "config", f.name], capture_output=True, text=True)
        check(r.returncode == 0, "promtool check config: the scrape job (static targets in place of Kubernetes SD)",
              (r.stdout + r.stderr).strip().replace("\n", " "))
        check_prometheus_files(promtool)

    svcs = [d for d in find(objs, "Service") if d["spec"].get("clusterIP") == "None"]
    sms = find(objs, "ServiceMonitor")
    if not (check(len(svcs) == 1, "servicemonitor.yaml: a headless Service") and
            check(len(sms) == 1, "servicemonitor.yaml: a ServiceMonitor")):
        return
    svc, sm = svcs[0], sms[0]
    check(sm["apiVersion"] == "monitoring.coreos.com/v1", "ServiceMonitor apiVersion monitoring.coreos.com/v1")
    check(sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"].get("labels", {}).items(),
          "ServiceMonitor selects the Service by its labels")
    check(svc["metadata"].get("namespace") in sm["spec"].get("namespaceSelector", {}).get("matchNames", []),
          "ServiceMonitor's namespaceSelector has the Service's namespace")
    eps = sm["spec"].get("endpoints", [])
    sports = {p.get("name"): p for p in svc["spec"].get("ports", [])}
    check(eps and all(e.get("port") in sports and e.get("path", "/metrics") == "/metrics" for e in eps),
          "ServiceMonitor endpoints name a Service port, path /metrics")
    if ds:
        tpl = ds["spec"]["template"]
        check(svc["metadata"].get("namespace") == ds["metadata"]["namespace"] and
              svc["spec"]["selector"].items() <= tpl["metadata"]["labels"].items(),
              "the Service selects the DaemonSet's pods")
        c = container(tpl["spec"], "obsbpf")
        check(all(port_number(c, p.get("targetPort", p.get("port"))) == PORT for p in sports.values()),
              "the Service's targetPort is the agent's %d" % PORT)


def check_prometheus_files(promtool):
    """The static scrape config as shipped, the rules, and the rules' unit tests, with promtool."""
    d = os.path.join(DEPLOY, "prometheus")
    static = os.path.join(d, "scrape-config-static.yaml")
    r = subprocess.run([promtool, "check", "config", static], capture_output=True, text=True)
    check(r.returncode == 0, "promtool check config deploy/prometheus/scrape-config-static.yaml (with its rule file)",
          (r.stdout + r.stderr).strip().replace("\n", " "))
    with open(static) as f:
        cfg = yaml.safe_load(f)
    jobs = [j for j in cfg.get("scrape_configs", []) if j.get("job_name") == "obsbpf"]
    check(len(jobs) == 1 and jobs[0].get("static_configs") and "obsbpf-rules.yaml" in cfg.get("rule_files", []),
          "scrape-config-static.yaml: job obsbpf with static targets, loading obsbpf-rules.yaml")
    rules = os.path.join(d, "obsbpf-rules.yaml")
    r = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
    check(r.returncode == 0, "promtool check rules deploy/prometheus/obsbpf-rules.yaml",
          (r.stdout + r.stderr).strip().replace("\n", " "))
    with open(rules) as f:
        groups = yaml.safe_load(f)["groups"]
    alerts = {x["alert"] for g in groups for x in g["rules"] if "alert" in x}
    want = {"ObsbpfHighServerErrorRatio", "ObsbpfHighServerLatencyP99", "ObsbpfRingBufferDrops",
            "ObsbpfUnparsedConnectionsRising", "ObsbpfAgentDown", "ObsbpfAgentNotReady"}
    check(want <= alerts, "alerts: 5xx ratio, p99, ring buffer drops, unparsed connections, agent down/not ready",
          "missing %s" % sorted(want - alerts))
    # Every alert is exercised by the unit tests, which promtool runs.
    with open(os.path.join(d, "obsbpf-rules.test.yaml")) as f:
        tested = {t["alertname"] for case in yaml.safe_load(f)["tests"] for t in case.get("alert_rule_test", [])}
    check(alerts <= tested, "every alert has a promtool unit test", "untested %s" % sorted(alerts - tested))
    r = subprocess.run([promtool, "test", "rules", os.path.join(d, "obsbpf-rules.test.yaml")],
                       capture_output=True, text=True, cwd=d)
    check(r.returncode == 0, "promtool test rules deploy/prometheus/obsbpf-rules.test.yaml",
          (r.stdout + r.stderr).strip().replace("\n", " ")[-400:])
    return groups


# --- Grafana -----------------------------------------------------------------------------------

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
                "bool", "offset", "sum", "min", "max", "avg", "count", "rate", "irate", "increase",
                "histogram_quantile", "label_values", "topk", "bottomk", "clamp_min", "clamp_max"}


def exposition(path):
    """{sample name: set of label names} of a /metrics scrape."""
    names = {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
            if m:
                labels = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", m.group(3) or ""))
                names.setdefault(m.group(1), set()).update(labels)
    return names


def promql_names(expr):
    """(metric names, label names, __name__ regexes) an expression uses."""
    name_rx = re.findall(r'__name__\s*=~?\s*"([^"]*)"', expr)
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # no identifiers inside strings
    metrics = set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{", e)) - PROMQL_WORDS
    labels = set()
    for sel in re.findall(r"\{([^}]*)\}", e):
        labels.update(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", sel))
    for grp in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", e):
        labels.update(x.strip() for x in grp.split(",") if x.strip())
    for m, lab in re.findall(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)[^,]*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)", e):
        metrics.add(m)
        labels.add(lab)
    labels.discard("__name__")
    return metrics, labels, name_rx


def expand_alternatives(rx):
    """The alternatives of a regex: top-level a|b, and a(b|c)d as abd, acd (one group deep)."""
    m = re.search(r"\(([^()]*)\)", rx)
    if m:
        return [x for a in m.group(1).split("|") for x in expand_alternatives(rx[:m.start()] + a + rx[m.end():])]
    return rx.split("|")


def check_dashboard(metrics_file):
    path = os.path.join(DEPLOY, "grafana", "obsbpf-red.json")
    try:
        with open(path) as f:
            dash = json.load(f)
        ok("obsbpf-red.json parses as JSON")
    except (OSError, ValueError) as e:
        fail("obsbpf-red.json: %s" % e)
        return
    tvars = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    check({"node", "namespace", "pod"} <= tvars.keys(), "dashboard: node, namespace and pod variables")
    panels = [p for p in dash.get("panels", []) if p.get("type") != "row"]
    ids = [p.get("id") for p in dash.get("panels", [])]
    check(len(ids) == len(set(ids)), "dashboard: panel ids unique")
    exprs = [(p["title"], t["expr"], t.get("legendFormat", "")) for p in panels for t in p.get("targets", [])]
    for v in tvars.values():
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query":
            exprs.append(("variable " + v["name"], q, ""))
    text = " ".join(e for _, e, _ in exprs)
    for need, what in (("http_server_request_duration_seconds_count", "server request rate"),
                       ("http_server_request_duration_seconds_bucket", "server latency"),
                       ("http_client_request_duration_seconds_bucket", "client latency"),
                       ('http_response_status_code=~"5..', "5xx errors"),
                       ("obsbpf_events_dropped_total", "events dropped"),
                       ("obsbpf_connections_unparsed_total", "connections unparsed")):
        check(need in text, "dashboard has %s (%s)" % (what, need))
    check(all(q in text for q in ("histogram_quantile(0.5,", "histogram_quantile(0.9,", "histogram_quantile(0.99,")),
          "dashboard has p50, p90 and p99")

    real = exposition(metrics_file) if metrics_file else None
    if real is None:
        fail("no /metrics of a running agent: dashboard names checked against docs/metrics.md only")
    with open(os.path.join(ROOT, "docs", "metrics.md")) as f:
        documented = f.read()
    real_labels = set().union(*real.values()) if real else set()
    used_m, used_l, used_rx = set(), set(), set()
    per_expr = []
    for title, expr, legend in exprs:
        m, lab, rx = promql_names(expr)
        lab |= set(re.findall(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", legend))
        used_m |= m
        used_rx |= set(rx)
        used_l |= lab
        per_expr.append((title, m, lab))
    check(used_m, "dashboard queries name metrics (%d)" % len(used_m))
    for name in sorted(used_m):
        if real is not None:
            check(name in real, "dashboard metric %s is in the agent's /metrics" % name)
        family = re.sub(r"_(bucket|count|sum)$", "", name)
        check(family in documented, "dashboard metric %s is documented in docs/metrics.md" % family)
    names = real if real is not None else \
        {f + sfx for f in re.findall(r"`([a-z_:]+)`", documented) for sfx in ("", "_bucket", "_count", "_sum")}
    for rx in sorted(used_rx):
        # {__name__=~"http_(server|client)_..."}: every alternative must name a metric, so one
        # renamed family cannot hide behind the other.
        for alt in expand_alternatives(rx):
            check(any(re.fullmatch(alt, n) for n in names), "dashboard's __name__ selector's %s matches a metric" % alt)
    for lab in sorted(used_l):
        if real is not None:
            check(lab in real_labels, "dashboard label %s is on the agent's series" % lab)
        else:
            check(lab in documented or lab == "le", "dashboard label %s is documented in docs/metrics.md" % lab)
    if real is not None:
        # A label must be on the series of the query that uses it, not just somewhere.
        bad = ["%s: %s" % (t, ", ".join(sorted(lab - set().union(*(real.get(x, set()) for x in m)))))
               for t, m, lab in per_expr if m and lab - set().union(*(real.get(x, set()) for x in m))]
        check(not bad, "every query's labels are on the metrics it queries", "; ".join(bad))

    # PromQL syntax, with Grafana's variables given values: promtool parses rule expressions.
    promtool = shutil.which("promtool")
    if promtool:
        rules = []
        for i, (title, expr, _) in enumerate(exprs):
            if title.startswith("variable "):
                continue
            e = expr.replace("$__rate_interval", "5m").replace("$namespace", ".*").replace("$pod", ".*")
            rules.append({"record": "obsbpf_lint:q%d" % i, "expr": e})
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
            f.flush()
            r = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
        check(r.returncode == 0, "promtool parses the dashboard's %d queries" % len(rules),
              (r.stdout + r.stderr).strip().replace("\n", " "))


def check_rule_names(metrics_file):
    """Every metric and label the rules query is one the agent exports (its real /metrics when
    there is one, else docs/metrics.md); recorded names and Prometheus' own `up` aside."""
    with open(os.path.join(DEPLOY, "prometheus", "obsbpf-rules.yaml")) as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    recorded = {r["record"] for r in rules if "record" in r}
    real = exposition(metrics_file) if metrics_file else None
    with open(os.path.join(ROOT, "docs", "metrics.md")) as f:
        documented = f.read()
    real_labels = set().union(*real.values()) if real else set()
    for r in rules:
        m, lab, _ = promql_names(r["expr"])
        for name in sorted(m - recorded - {"up"}):
            family = re.sub(r"_(bucket|count|sum)$", "", name)
            if real is not None:
                check(name in real, "rule %s: metric %s is in the agent's /metrics" % (r.get("alert", r.get("record")), name))
            else:
                check(family in documented, "rule %s: metric %s is documented" % (r.get("alert", r.get("record")), family))
        for label in sorted(lab - {"le", "job", "instance"}):
            if real is not None:
                check(label in real_labels, "rule %s: label %s is in the agent's /metrics" % (r.get("alert", r.get("record")), label))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--obsbpf", required=True, help="the binary whose flags and config parsing are checked")
    ap.add_argument("--image-binary", default=os.path.join(ROOT, "build", "obsbpf"),
                    help="the plain build (what the image ships; not the ASan one) whose libraries are checked")
    ap.add_argument("--metrics", help="a /metrics scrape of a running agent (without: docs only, one FAIL)")
    a = ap.parse_args()

    docs = load_yaml_docs()
    objs = k8s_objects(docs)
    with open(os.path.join(DEPLOY, "obsbpf.conf.example")) as f:
        example_text = f.read()
    ds = check_daemonset(objs, example_text)
    check_sidecar(objs)
    check_command_lines(objs, a.obsbpf)
    r = subprocess.run([a.obsbpf, "daemon", "--help"], capture_output=True, text=True, timeout=20)
    check_config_example(a.obsbpf, ["daemon"])
    check_dockerfile(a.image_binary)
    check_prometheus(docs, objs, ds)
    check_dashboard(a.metrics)
    check_rule_names(a.metrics)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
