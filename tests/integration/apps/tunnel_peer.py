#!/usr/bin/python3
"""Test peer: answers the first HTTP/1.1 request head of each connection and then carries
whatever follows as opaque bytes, echoing them back and appending them to a file, as a
proxy's tunnel after CONNECT or a server after 101 Switching Protocols does.

usage: tunnel_peer.py PORT OUT_FILE (connect|upgrade)
"""
import socket
import sys
import threading

ANSWERS = {
    "connect": b"HTTP/1.1 200 Connection established\r\n\r\n",
    "upgrade": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
}


def serve(conn, out_path, answer):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return
        buf += chunk
    rest = buf[buf.index(b"\r\n\r\n") + 4:]
    conn.sendall(answer)
    with open(out_path, "ab") as out:
        while True:
            if rest:
                out.write(rest)
                out.flush()
                conn.sendall(rest)
            rest = conn.recv(65536)
            if not rest:
                break
    conn.close()


def main():
    port, out_path, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, out_path, ANSWERS[mode]), daemon=True).start()


if __name__ == "__main__":
    main()
