#!/usr/bin/python3
"""A gRPC service and client on Debian's python3-grpcio, with no generated code: messages are
raw bytes (no serializer), so that any byte can be sent and compared.

  grpc_app.py serve PORT [--log FILE] [--relay HOST:PORT]
      shop.Cart/Add      unary: answers the request's bytes
      shop.Cart/Fail     unary: fails with the gRPC code given as the request (b"14")
      shop.Cart/Watch    server streaming: N messages (the request: b"N")
      shop.Cart/Chat     bidi: echoes each message
      shop.Cart/Relay    unary: calls Add on --relay (gRPC) while serving, answers its reply
    --log: one JSON line per call with the method, its metadata and the request's hex digest.
  grpc_app.py call HOST:PORT PLAN
      PLAN: comma-separated METHOD:COUNT[:ARG] (e.g. "Add:10,Fail:3:14,Watch:2:5,Chat:2:4");
      prints {"METHOD/CODE": n, ...} of the calls made, and the bytes sent/received digests.
"""
import concurrent.futures
import hashlib
import json
import sys
import threading

import grpc

CODES = {c.value[0]: c for c in grpc.StatusCode}
_log_lock = threading.Lock()


def serve(port, log_path, relay):
    log = open(log_path, "a") if log_path else None
    relay_chan = grpc.insecure_channel(relay) if relay else None

    def note(method, context, data):
        if not log:
            return
        md = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        with _log_lock:
            log.write(json.dumps({"method": method, "metadata": md, "sha": hashlib.sha256(data).hexdigest()}) + "\n")
            log.flush()

    def add(req, ctx):
        note("Add", ctx, req)
        return req

    def fail(req, ctx):
        note("Fail", ctx, req)
        ctx.abort(CODES[int(req.decode())], "failed on purpose")

    def watch(req, ctx):
        note("Watch", ctx, req)
        for i in range(int(req.decode())):
            yield b"tick %d" % i

    def chat(it, ctx):
        data = b""
        for m in it:
            data += m
            yield m
        note("Chat", ctx, data)

    def relay_call(req, ctx):
        note("Relay", ctx, req)
        return relay_chan.unary_unary("/shop.Cart/Add")(req, timeout=10)

    handler = grpc.method_handlers_generic_handler("shop.Cart", {
        "Add": grpc.unary_unary_rpc_method_handler(add),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Watch": grpc.unary_stream_rpc_method_handler(watch),
        "Chat": grpc.stream_stream_rpc_method_handler(chat),
        "Relay": grpc.unary_unary_rpc_method_handler(relay_call),
    })
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port("0.0.0.0:%d" % port)
    server.start()
    server.wait_for_termination()


def call(target, plan):
    counts = {}
    sent = hashlib.sha256()
    got = hashlib.sha256()
    with grpc.insecure_channel(target) as ch:
        for item in plan.split(","):
            parts = item.split(":")
            method, n = parts[0], int(parts[1])
            arg = parts[2] if len(parts) > 2 else ""
            for i in range(n):
                code = "OK"
                try:
                    if method in ("Add", "Relay"):
                        req = b"payload %d GET / HTTP/1.1\r\ntraceparent: x\r\n" % i
                        sent.update(req)
                        got.update(ch.unary_unary("/shop.Cart/" + method)(req, timeout=10))
                    elif method == "Fail":
                        ch.unary_unary("/shop.Cart/Fail")(arg.encode(), timeout=10)
                    elif method == "Watch":
                        for m in ch.unary_stream("/shop.Cart/Watch")(arg.encode(), timeout=10):
                            got.update(m)
                    elif method == "Chat":
                        msgs = [b"msg %d.%d" % (i, k) for k in range(int(arg or "3"))]
                        for m in msgs:
                            sent.update(m)
                        for m in ch.stream_stream("/shop.Cart/Chat")(iter(msgs), timeout=10):
                            got.update(m)
                except grpc.RpcError as e:
                    code = e.code().name
                key = "%s/%s" % (method, code)
                counts[key] = counts.get(key, 0) + 1
    print(json.dumps({"calls": counts, "sent": sent.hexdigest(), "got": got.hexdigest()}))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        args = sys.argv[3:]
        log = args[args.index("--log") + 1] if "--log" in args else None
        relay = args[args.index("--relay") + 1] if "--relay" in args else None
        serve(int(sys.argv[2]), log, relay)
    else:
        call(sys.argv[2], sys.argv[3])
