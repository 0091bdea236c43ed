#!/usr/bin/python3
"""Counts the spans of requests with no response in an OTLP receiver's JSON lines.

usage: check_noresponse_spans.py FILE KIND PATH_PART ERROR_TYPES [SCHEME]

Of the spans of KIND (2 server, 3 client) whose url.path or url.full contains PATH_PART, prints
how many there are and how many of them are wrong: error.type not one of ERROR_TYPES (comma
separated), status not ERROR, an http.response.status_code, or (with SCHEME) another url.scheme.
"""
import json
import sys


def main():
    out, kind, part, ets = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(",")
    scheme = sys.argv[5] if len(sys.argv) > 5 else None
    n = bad = 0
    for line in open(out):
        s = json.loads(line)
        a = s["attributes"]
        path = a.get("url.path") or a.get("url.full", "")
        if s["kind"] != kind or part not in path:
            continue
        n += 1
        if (a.get("error.type") not in ets or s["status_code"] != 2 or "http.response.status_code" in a
                or (scheme and a.get("url.scheme") != scheme)):
            bad += 1
    print(n, bad)


if __name__ == "__main__":
    main()
