#!/usr/bin/python3
"""Checks the spans of one trace through client -> relay -> echo, as decoded by the OTLP
receiver (one JSON object per line): exactly four spans, CLIENT on the client pod, SERVER then
CLIENT on the relay, SERVER on the echo pod, each the parent of the next, the first a root, times
nested. Usage: check_chain_spans.py SPANS.jsonl TRACE_ID CLIENT_POD RELAY_POD ECHO_POD.
Prints a one-line summary; exits 1 with the reason on a mismatch."""
import json
import sys

SERVER, CLIENT = 2, 3


def main():
    path, trace, client, relay, echo = sys.argv[1:]
    spans = [s for s in (json.loads(l) for l in open(path)) if s["trace_id"] == trace]
    want = [(client, CLIENT), (relay, SERVER), (relay, CLIENT), (echo, SERVER)]
    chain = []
    for pod, kind in want:
        found = [s for s in spans if s["resource"].get("k8s.pod.name") == pod and s["kind"] == kind]
        if len(found) != 1:
            sys.exit("%d spans of kind %d from %s in trace %s (of %d spans)" % (len(found), kind, pod, trace, len(spans)))
        chain.append(found[0])
    if len(spans) != 4:
        sys.exit("trace %s has %d spans, want 4" % (trace, len(spans)))
    if chain[0]["parent_span_id"]:
        sys.exit("the client's span is not a root: parent %s" % chain[0]["parent_span_id"])
    for up, down in zip(chain, chain[1:]):
        if down["parent_span_id"] != up["span_id"]:
            sys.exit("%s's parent is %s, want %s (%s)" % (down["name"], down["parent_span_id"], up["span_id"], up["name"]))
        if not (up["start"] <= down["start"] and down["end"] <= up["end"]):
            sys.exit("%s [%d, %d] not inside %s [%d, %d]" % (down["name"], down["start"], down["end"],
                                                          up["name"], up["start"], up["end"]))
    print(" -> ".join("%s %s" % (s["resource"]["k8s.pod.name"], s["span_id"]) for s in chain))


if __name__ == "__main__":
    main()
