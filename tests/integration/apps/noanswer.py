#!/usr/bin/python3
"""Test app: an HTTP/1.1 server that leaves requests unanswered, by the request's path.

  GET /ok/N     -> 200 "ok" (keep-alive: the next request may follow on the connection)
  GET /hang/N   -> no answer: waits for the client to close, then closes (FIN)
  GET /reset/N  -> no answer: closes at once with SO_LINGER 0 (the kernel sends a RST)
  GET /close/N  -> no answer: closes at once (FIN), the request read whole first, so that the
                   close is an orderly one (unread data would make it a RST)

An HTTP/2 client with prior knowledge (its preface first) gets the server's SETTINGS and no
answer: the server waits for the client to close, then closes. On --h2-close-port the server
closes instead as soon as the client's first HEADERS frame is in (a server going away under an
open request or gRPC call).

With --cert (a PEM with certificate and key) it serves the same over TLS (ALPN h2 or
http/1.1): the answer, or its absence, inside TLS; a close is the socket's, without a TLS
close_notify, as a crashing or aborting server's would be.

A thread per connection. Request bodies are not expected."""
import argparse
import os
import socket
import ssl
import struct
import threading

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def until_closed(conn):
    """Reads until the client has closed its side of the TCP connection. Over TLS a client's
    close_notify ends the reads before its FIN: the raw socket is read on, so that the client's
    FIN still comes first (the server closes second, as without TLS)."""
    while conn.recv(65536):
        pass
    if isinstance(conn, ssl.SSLSocket):
        raw = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            while raw.recv(65536):
                pass
        finally:
            raw.close()


def until_headers(conn, buf):
    """Reads the client's preface (buf: what was read of it so far) and then its frames until a
    HEADERS frame is in whole."""
    while len(buf) < len(H2_PREFACE):
        chunk = conn.recv(65536)
        if not chunk:
            return
        buf += chunk
    buf = buf[len(H2_PREFACE):]
    while True:
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            if buf[3] == 0x1:
                return
            buf = buf[9 + n:]
        chunk = conn.recv(65536)
        if not chunk:
            return
        buf += chunk


def serve(conn, ctx, h2_close=False):
    buf = b""
    try:
        if ctx:
            conn = ctx.wrap_socket(conn, server_side=True)
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            if buf.startswith(H2_PREFACE[:16]):
                # An empty SETTINGS frame (RFC 9113 6.5): the server's side of the preface.
                conn.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
                if h2_close:
                    until_headers(conn, buf)
                else:
                    until_closed(conn)
                return
            head, buf = buf.split(b"\r\n\r\n", 1)
            path = head.split(b"\r\n", 1)[0].split(b" ")[1].decode()
            if path.startswith("/hang/"):
                until_closed(conn)
                return
            if path.startswith("/reset/"):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if path.startswith("/close/"):
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--h2-close-port", type=int)
    ap.add_argument("--cert")
    args = ap.parse_args()
    ctx = None
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
    if args.h2_close_port:
        threading.Thread(target=accept, args=(listen(args.h2_close_port), ctx, True), daemon=True).start()
    accept(listen(args.port), ctx, False)


def listen(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(64)
    return ls


def accept(ls, ctx, h2_close):
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn, ctx, h2_close), daemon=True).start()


if __name__ == "__main__":
    main()
