#!/usr/bin/python3
"""Checks an HTTP/1.1 exchange with rawecho.py, which answers each request with the request's
bytes as they arrived: SENT is what the client wrote, RECV what it read back. Each request sent
is paired with its echo and classed:
  inserted   the echo is the request with exactly one "traceparent: 00-..." line added right
             after the request line, and every other byte the same
  unchanged  the echo is the request, byte for byte
  CHANGED    anything else
Prints one class per line, in order, then "requests N bytes M".
"""
import re
import sys

TP = re.compile(rb"traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]\r\n")


def requests(data):
    out = []
    while data:
        end = data.index(b"\r\n\r\n") + 4
        head, rest = data[:end], data[end:]
        m = re.search(rb"(?im)^content-length: *(\d+)", head)
        if re.search(rb"(?im)^transfer-encoding: *chunked", head):
            body = b""
            while True:
                nl = rest.index(b"\r\n") + 2
                size = int(rest[:nl].split(b";")[0], 16)
                body += rest[:nl + size + 2]
                rest = rest[nl + size + 2:]
                if size == 0:
                    break
        else:
            n = int(m.group(1)) if m else 0
            body, rest = rest[:n], rest[n:]
        out.append(head + body)
        data = rest
    return out


def echoes(data):
    out = []
    while data:
        end = data.index(b"\r\n\r\n") + 4
        n = int(re.search(rb"Content-Length: (\d+)", data[:end]).group(1))
        out.append(data[end:end + n])
        data = data[end + n:]
    return out


def main():
    sent = open(sys.argv[1], "rb").read()
    got = open(sys.argv[2], "rb").read()
    reqs, echs = requests(sent), echoes(got)
    if len(reqs) != len(echs):
        print("CHANGED: %d requests sent, %d echoed" % (len(reqs), len(echs)))
    for r, e in zip(reqs, echs):
        line_end = r.index(b"\r\n") + 2
        m = TP.match(e, line_end)
        if e == r:
            print("unchanged")
        elif m and e[:line_end] + e[m.end():] == r and not TP.search(r[:r.index(b"\r\n\r\n") + 4]):
            print("inserted")
        else:
            i = next((k for k in range(min(len(e), len(r))) if e[k] != r[k]), min(len(e), len(r)))
            print("CHANGED")
            sys.stderr.write("check_echo: sent %d bytes, echoed %d, first difference at %d: sent %r echoed %r\n"
                             % (len(r), len(e), i, r[max(0, i - 40):i + 80], e[max(0, i - 40):i + 80]))
    print("requests %d bytes %d" % (len(reqs), len(sent)))


if __name__ == "__main__":
    main()
