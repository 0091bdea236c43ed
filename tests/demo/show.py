#!/usr/bin/python3
"""What `make demo` prints from what the demo's receivers stored.

  show.py spans FILE N     N traces (those with the most spans) as trees: parent -> children,
                           kind, name, pod, duration, status (the OTLP receiver's JSON lines)
  show.py logs FILE N      N forwarded log records that carry a trace id (the Fluent Forward
                           receiver's JSON lines)
  show.py ready-spans FILE exit 0 when a trace of 4 spans or more is there
  show.py ready-logs FILE  exit 0 when 3 records with a trace id are there
  show.py graph-url BASE POD   the Prometheus graph of POD's request rate and p99
"""
import json
import sys
import urllib.parse

KIND = {2: "SERVER", 3: "CLIENT"}


def load(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def traces(path):
    by = {}
    for s in load(path):
        by.setdefault(s["trace_id"], {})[s["span_id"]] = s
    return by


def show_spans(path, n):
    by = traces(path)
    best = sorted(by.values(), key=lambda t: (len(t), max(int(s["end"]) for s in t.values())), reverse=True)[:n]
    for spans in best:
        tid = next(iter(spans.values()))["trace_id"]
        print("  trace %s (%d spans)" % (tid, len(spans)))
        kids = {}
        for s in spans.values():
            kids.setdefault(s["parent_span_id"] if s["parent_span_id"] in spans else None, []).append(s)

        def line(s, prefix, last, top):
            a = s["attributes"]
            dur = (int(s["end"]) - int(s["start"])) / 1e6
            where = a.get("url.full") or a.get("url.path") or ""
            text = "%-6s %-22s %-10s %8.3f ms  %s  %s" % (
                KIND.get(s["kind"], s["kind"]), s["name"], s["resource"].get("k8s.pod.name", ""), dur,
                a.get("http.response.status_code", "-"), where)
            print("    " + ("" if top else prefix + ("└─ " if last else "├─ ")) + text)
            ch = sorted(kids.get(s["span_id"], []), key=lambda c: int(c["start"]))
            for i, c in enumerate(ch):
                line(c, "" if top else prefix + ("   " if last else "│  "), i == len(ch) - 1, False)

        for r in sorted(kids.get(None, []), key=lambda c: int(c["start"])):
            line(r, "", True, True)


def logs_with_trace(path):
    return [r for r in load(path) if r.get("record", {}).get("trace_id")]


def show_logs(path, n):
    for r in logs_with_trace(path)[-n:]:
        rec = r["record"]
        print("    %-9s trace_id=%s  %s" % (rec.get("pod", ""), rec["trace_id"], rec.get("log", "")[:90]))


def graph_url(base, pod):
    sel = 'k8s_pod_name="%s"' % pod
    q = {
        "g0.expr": "sum(rate(http_server_request_duration_seconds_count{%s}[30s]))" % sel,
        "g0.tab": "0", "g0.range_input": "5m",
        "g1.expr": "histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{%s}[30s])))" % sel,
        "g1.tab": "0", "g1.range_input": "5m",
    }
    return base.rstrip("/") + "/graph?" + urllib.parse.urlencode(q)


def main():
    cmd = sys.argv[1]
    if cmd == "spans":
        show_spans(sys.argv[2], int(sys.argv[3]))
    elif cmd == "logs":
        show_logs(sys.argv[2], int(sys.argv[3]))
    elif cmd == "ready-spans":
        return 0 if any(len(t) >= 4 for t in traces(sys.argv[2]).values()) else 1
    elif cmd == "ready-logs":
        return 0 if len(logs_with_trace(sys.argv[2])) >= 3 else 1
    elif cmd == "graph-url":
        print(graph_url(sys.argv[2], sys.argv[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
