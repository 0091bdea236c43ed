#!/usr/bin/python3
"""Counts the spans of requests with no response in an OTLP receiver's JSON lines.

usage: check_noresponse_spans.py FILE KIND PATH_PART ERROR_TYPES [SCHEME]
       check_noresponse_spans.py FILE KIND grpc:METHOD:CODE ERROR_TYPES

Of the spans of KIND (2 server, 3 client) whose url.path or url.full contains PATH_PART, prints
how many there are and how many of them are wrong: error.type not one of ERROR_TYPES (comma
separated), status not ERROR, an http.response.status_code, or (with SCHEME) another url.scheme.
With grpc:METHOD:CODE, the spans of gRPC calls to METHOD, wrong also when rpc.grpc.status_code is
not CODE. ERROR_TYPES "-": spans that are no error on their side (answered requests, a server's
CANCELLED call), wrong when they have an error.type or status ERROR.
"""
import json
import sys


def wrong_error(s, a, ets):
    """ERROR_TYPES "-": the span is no error (no error.type, status not ERROR); else ERROR with
    one of them."""
    if ets == ["-"]:
        return "error.type" in a or s["status_code"] == 2
    return a.get("error.type") not in ets or s["status_code"] != 2


def wrong_http(s, a, ets, scheme):
    unanswered = ets != ["-"]
    return bool(wrong_error(s, a, ets) or (unanswered and "http.response.status_code" in a)
                or (scheme and a.get("url.scheme") != scheme))


def wrong_grpc(s, a, ets, code):
    return str(a.get("rpc.grpc.status_code")) != str(code) or wrong_error(s, a, ets)


def main():
    out, kind, part, ets = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(",")
    scheme = sys.argv[5] if len(sys.argv) > 5 else None
    grpc = part.split(":") if part.startswith("grpc:") else None
    n = bad = 0
    for line in open(out):
        s = json.loads(line)
        a = s["attributes"]
        if s["kind"] != kind:
            continue
        if grpc:
            if a.get("rpc.method") != grpc[1]:
                continue
            n += 1
            bad += wrong_grpc(s, a, ets, int(grpc[2]))
            continue
        if part not in (a.get("url.path") or a.get("url.full", "")):
            continue
        n += 1
        bad += wrong_http(s, a, ets, scheme)
    print(n, bad)


if __name__ == "__main__":
    main()
