#!/usr/bin/python3
"""Test app: answers each HTTP/1.1 request with the request's exact bytes as the body, so that
a client can check byte for byte what arrived (head as sent plus any injected header, body).
A thread per connection, keep-alive, pipelining, Content-Length and chunked request bodies."""
import argparse
import socket
import threading


def read_until(conn, buf, marker):
    while marker not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    i = buf.index(marker) + len(marker)
    return buf[:i], buf[i:]


def read_n(conn, buf, n):
    while len(buf) < n:
        chunk = conn.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    return buf[:n], buf[n:]


def one_request(conn, buf):
    head, buf = read_until(conn, buf, b"\r\n\r\n")
    if head is None:
        return None, buf
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size_line, buf = read_until(conn, buf, b"\r\n")
            if size_line is None:
                return None, buf
            size = int(size_line.split(b";")[0], 16)
            data, buf = read_n(conn, buf, size + 2)
            if data is None:
                return None, buf
            body += size_line + data
            if size == 0:
                break
    else:
        body, buf = read_n(conn, buf, length)
        if body is None:
            return None, buf
    return head + body, buf


def serve(conn):
    buf = b""
    with conn:
        while True:
            raw, buf = one_request(conn, buf)
            if raw is None:
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(raw) + raw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    a = ap.parse_args()
    srv = socket.create_server(("0.0.0.0", a.port), reuse_port=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
