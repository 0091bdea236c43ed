#!/usr/bin/python3
"""A Fluent Forward receiver for the tests (python3-msgpack).

Accepts Message, Forward, PackedForward and CompressedPackedForward (gzip) messages, appends
every record to OUT as one JSON line {"tag", "time_ns", "record", "chunk"} *before* acking the
chunk (so what is acked is stored), and answers {"ack": chunk}. While the file NOACK exists it
stores nothing and acks nothing (a stuck collector). --shared-key turns on the HELO/PING/PONG
handshake. Writes PORT to --port-file once listening. --count-file: benchmark mode, counts without storing.
"""
import argparse, gzip, hashlib, io, json, os, socketserver, sys, threading, time

import msgpack

lock = threading.Lock()


def ext_hook(code, data):
    if code == 0 and len(data) == 8:
        return ("EventTime", int.from_bytes(data[:4], "big") * 10**9 + int.from_bytes(data[4:], "big"))
    return msgpack.ExtType(code, data)


def time_ns(t):
    if isinstance(t, tuple) and t[0] == "EventTime":
        return t[1]
    if isinstance(t, int):
        return t * 10**9
    if isinstance(t, float):
        return int(t * 10**9)
    raise ValueError("bad time %r" % (t,))


def entries_of(blob):
    up = msgpack.Unpacker(io.BytesIO(blob), raw=False, ext_hook=ext_hook, strict_map_key=False)
    return [tuple(e) for e in up]


class Handler(socketserver.BaseRequestHandler):
    def handshake(self, up):
        key = self.server.args.shared_key
        nonce = os.urandom(16)
        self.request.sendall(msgpack.packb(["HELO", {"nonce": nonce, "auth": b"", "keepalive": True}]))
        ping = None
        while ping is None:
            data = self.request.recv(65536)
            if not data:
                return False
            up.feed(data)
            for m in up:
                ping = m
                break
        _, client_host, salt, digest, _user, _pw = ping
        want = hashlib.sha512(salt.encode() + client_host.encode() + nonce + key.encode()).hexdigest()
        ok = digest == want
        host = "receiver"
        mine = hashlib.sha512(salt.encode() + host.encode() + nonce + key.encode()).hexdigest()
        self.request.sendall(msgpack.packb(["PONG", ok, "" if ok else "shared key mismatch", host, mine]))
        with lock:
            self.server.handshakes.append(ok)
        return ok

    def handle(self):
        up = msgpack.Unpacker(raw=False, ext_hook=ext_hook, strict_map_key=False, max_buffer_size=256 << 20)
        if self.server.args.shared_key and not self.handshake(up):
            return
        while True:
            try:
                data = self.request.recv(1 << 20)
            except OSError:
                return
            if not data:
                return
            up.feed(data)
            for msg in up:
                self.message(msg)

    def message(self, msg):
        args = self.server.args
        if os.path.exists(args.noack):
            return  # a stuck collector: takes the bytes, stores and acks nothing
        tag, second = msg[0], msg[1]
        if args.count_file and isinstance(second, bytes):
            # benchmark mode: trust the "size" option, count and ack without decoding entries
            opt = msg[2]
            with lock:
                self.server.count += opt["size"]
                with open(args.count_file + ".tmp", "w") as f:
                    f.write(str(self.server.count))
                os.rename(args.count_file + ".tmp", args.count_file)
            self.request.sendall(msgpack.packb({"ack": opt["chunk"]}))
            return
        opt = {}
        if isinstance(second, (bytes, str)):  # PackedForward
            blob = second if isinstance(second, bytes) else second.encode("latin-1")
            opt = msg[2] if len(msg) > 2 else {}
            if opt.get("compressed") == "gzip":
                blob = gzip.decompress(blob)
            entries = entries_of(blob)
        elif isinstance(second, list):  # Forward
            entries = [tuple(e) for e in second]
            opt = msg[2] if len(msg) > 2 else {}
        else:  # Message
            entries = [(second, msg[2])]
            opt = msg[3] if len(msg) > 3 else {}
        chunk = opt.get("chunk")
        if "size" in opt and opt["size"] != len(entries):
            print("receiver: size option %d != %d entries" % (opt["size"], len(entries)), file=sys.stderr)
            return
        lines = "".join(json.dumps({"tag": tag, "time_ns": time_ns(t), "record": r, "chunk": chunk}) + "\n"
                        for t, r in entries)
        with lock:
            with open(args.out, "a") as f:
                f.write(lines)
                f.flush()
                os.fsync(f.fileno())
        if chunk:
            if args.ack_delay:
                time.sleep(args.ack_delay)
            self.request.sendall(msgpack.packb({"ack": chunk}))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--out", required=True)
    ap.add_argument("--noack", default="/nonexistent")
    ap.add_argument("--shared-key")
    ap.add_argument("--count-file", help="benchmark: only count records (PackedForward), in this file")
    ap.add_argument("--ack-delay", type=float, default=0, help="seconds to wait before each ack (a slow collector)")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.args = args
    srv.handshakes = []
    srv.count = 0
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
