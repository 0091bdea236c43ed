#!/usr/bin/env python3
"""Runs every query of the Grafana dashboard against a real Prometheus, as Grafana would: each
panel's targets (variables substituted) as instant queries, the latency panels' exemplars, the
template variables' label_values. Fails on a query Prometheus refuses, one that returns nothing
(a panel that would say "No data"), a ratio that is not a number, or a latency panel with no
exemplar.

usage: check_dashboard.py DASHBOARD PROM_URL NAME=VALUE... [--ratio-zero POD]
  NAME=VALUE: the variables ($node, $namespace, $pod, $__rate_interval); a value ".*" is "All".
  --ratio-zero POD: POD served requests and none failed: ratio panels must show it as 0."""
import json
import math
import re
import sys
import time
import urllib.parse
import urllib.request

fails = 0


def ok(msg):
    print("  ok: " + msg)


def fail(msg):
    global fails
    fails += 1
    print("  FAIL: " + msg)


def get(prom, path, params):
    url = prom + path + "?" + urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        try:
            return json.load(e)
        except ValueError:
            return {"status": "error", "error": "HTTP %d" % e.code}
    except OSError as e:
        return {"status": "error", "error": str(e)}


def subst(expr, vars_):
    # longest names first: $namespace before $n...
    for k in sorted(vars_, key=len, reverse=True):
        expr = expr.replace("${%s}" % k, vars_[k]).replace("$" + k, vars_[k])
    return expr


def main():
    args = sys.argv[1:]
    zero_pod = None
    if "--ratio-zero" in args:
        i = args.index("--ratio-zero")
        zero_pod = args[i + 1]
        del args[i:i + 2]
    dash_path, prom = args[0], args[1].rstrip("/")
    vars_ = dict(a.split("=", 1) for a in args[2:])
    dash = json.load(open(dash_path))
    now = time.time()
    label = " ".join("%s=%s" % (k, v) for k, v in sorted(vars_.items()) if not k.startswith("__"))

    # Template variables: label_values(SELECTOR, LABEL), as Grafana's Prometheus data source runs it.
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query")
        m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*", q)
        if not m:
            fail("variable %s: not label_values(...): %s" % (v["name"], q))
            continue
        sel = subst(m.group(1), vars_)
        r = get(prom, "/api/v1/label/%s/values" % m.group(2),
                {"match[]": sel, "start": int(now - 3600), "end": int(now + 60)})
        want = vars_.get(v["name"])
        if r.get("status") != "success":
            fail("variable %s (%s): %s" % (v["name"], label, r.get("error")))
        elif not r["data"]:
            fail("variable %s (%s): no values" % (v["name"], label))
        elif want and want != ".*" and want not in r["data"]:
            fail("variable %s (%s): %s not among %s" % (v["name"], label, want, r["data"]))
        else:
            ok("variable %s (%s): %s" % (v["name"], label, ", ".join(r["data"][:4])))

    panels = [p for p in dash["panels"] if p.get("type") != "row"]
    for p in panels:
        for t in p.get("targets", []):
            expr = subst(t["expr"], vars_)
            what = "panel %d %r %s (%s)" % (p["id"], p["title"], t.get("refId", ""), label)
            r = get(prom, "/api/v1/query", {"query": expr, "time": now})
            if r.get("status") != "success":
                fail("%s: Prometheus refused it: %s" % (what, r.get("error")))
                continue
            res = r["data"]["result"]
            if not res:
                fail("%s: no data" % what)
                continue
            vals = [float(s["value"][1]) for s in res]
            ratio = p.get("fieldConfig", {}).get("defaults", {}).get("unit") == "percentunit"
            if ratio and not all(math.isfinite(x) and 0 <= x <= 1 for x in vals):
                fail("%s: a ratio that is not in [0, 1]: %s" % (what, vals))
                continue
            if ratio and zero_pod and vars_.get("pod") in (".*", zero_pod) and "server" in expr:
                # The service graph's series name the pod as the edge's server.
                pod_label = "server" if "traces_service_graph" in expr else "k8s_pod_name"
                z = [float(s["value"][1]) for s in res if s["metric"].get(pod_label) == zero_pod]
                if z != [0.0]:
                    fail("%s: %s (no failures) should show 0, shows %s" % (what, zero_pod, z or "nothing"))
                    continue
            ok("%s: %d series" % (what, len(res)))
            # The HTTP and gRPC histograms carry exemplars; the service graph's do not.
            if "histogram_quantile" in expr and "traces_service_graph" not in expr and not t.get("exemplar"):
                fail("%s: a latency query without exemplars" % what)
            if t.get("exemplar"):
                r = get(prom, "/api/v1/query_exemplars",
                        {"query": expr, "start": int(now - 600), "end": int(now + 60)})
                ids = [e["labels"].get("trace_id", "") for s in r.get("data") or [] for e in s["exemplars"]]
                if r.get("status") != "success" or not ids:
                    fail("%s: no exemplar (%s)" % (what, r.get("error", "none")))
                elif not all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids):
                    fail("%s: exemplars without a trace_id: %s" % (what, ids[:3]))
                else:
                    ok("%s: %d exemplars with trace ids" % (what, len(ids)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
