#!/usr/bin/python3
"""Test client: sends a file's bytes to HOST:PORT (optionally after a prefix), half-closes, and
writes everything received to stdout. Used to check byte-exact pass-through."""
import socket
import sys


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    data = open(path, "rb").read()
    s = socket.create_connection((host, port), timeout=20)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    out = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main()
