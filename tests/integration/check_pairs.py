#!/usr/bin/python3
"""Pairs the SERVER spans with parents to CLIENT spans, as decoded by the OTLP receiver: every
such server span's parent must be a client span of the same trace, one server span per client
span. Usage: check_pairs.py SPANS.jsonl. Prints "<server spans with a parent> <paired> <client
spans> <root server spans>"; a server span whose parent is not a client span of its trace is
listed on stderr."""
import json
import sys

SERVER, CLIENT = 2, 3

spans = [json.loads(l) for l in open(sys.argv[1])]
clients = {(s["trace_id"], s["span_id"]) for s in spans if s["kind"] == CLIENT}
servers = [s for s in spans if s["kind"] == SERVER]
children = [s for s in servers if s["parent_span_id"]]
paired = set()
for s in children:
    key = (s["trace_id"], s["parent_span_id"])
    if key in clients and key not in paired:
        paired.add(key)
    else:
        print("unpaired server span %s %s parent %s" % (s["name"], s["trace_id"], s["parent_span_id"]), file=sys.stderr)
print(len(children), len(paired), len(clients), len(servers) - len(children))
