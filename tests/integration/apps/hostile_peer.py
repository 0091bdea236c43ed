#!/usr/bin/python3
"""A hostile peer for the exporters' fault tests: listens on --port (0: any; the port goes to
--port-file once listening) and, on every connection it accepts:

  slow     holds it open, reads nothing, answers nothing (a collector that hangs)
  garbage  reads and discards what comes, and sends random bytes until the client goes away:
           not HTTP, not HTTP/2, not msgpack (seeded per connection, so runs repeat)

Counts the connections it accepted in --conns FILE (one line each).
"""
import argparse, random, socket, threading


def garbage(conn, seed):
    def drain():
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
    threading.Thread(target=drain, daemon=True).start()
    rnd = random.Random(seed)
    try:
        while True:
            conn.sendall(rnd.randbytes(65536))
    except OSError:
        pass
    conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["slow", "garbage"])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--conns")
    a = ap.parse_args()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.mode == "slow":
        # A small receive window (accepted sockets inherit it): the client's writes stall soon.
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(64)
    with open(a.port_file, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    held, n = [], 0
    while True:
        conn, _ = ls.accept()
        n += 1
        if a.conns:
            with open(a.conns, "a") as f:
                f.write("%d\n" % n)
        if a.mode == "slow":
            held.append(conn)
        else:
            threading.Thread(target=garbage, args=(conn, n), daemon=True).start()


if __name__ == "__main__":
    main()
