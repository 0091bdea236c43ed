#!/usr/bin/python3
"""Test client: one TCP connection driven by steps, for byte-exact pass-through checks. Writes
every byte it sent to SENT and every byte it received to RECV.

usage: scripted_client.py HOST PORT SENT RECV STEP...
  send:HEX        write these bytes in one send
  sendfile:PATH   write the file's bytes in one send
  repeat:N:HEX    write these bytes N times, one send each
  rr:N:HEX:MARK   N times: write the bytes, then wait until MARK (hex) has been received once more
                  (request, response, next request)
  sleep:SECONDS   pause (a body sent after a delay, a head in pieces)
  expect:HEX      wait (10 s at most) until the bytes received so far contain these
"""
import socket
import sys
import threading
import time


def main():
    host, port, sent_path, recv_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    s = socket.create_connection((host, port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sent, got = bytearray(), bytearray()
    lock = threading.Condition()

    def reader():
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            with lock:
                if chunk:
                    got.extend(chunk)
                lock.notify_all()
            if not chunk:
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    for step in sys.argv[5:]:
        kind, _, arg = step.partition(":")
        if kind == "send":
            b = bytes.fromhex(arg)
            s.sendall(b)
            sent.extend(b)
        elif kind == "sendfile":
            b = open(arg, "rb").read()
            s.sendall(b)
            sent.extend(b)
        elif kind == "rr":
            n, h, mark = arg.split(":")
            b, mark = bytes.fromhex(h), bytes.fromhex(mark)
            with lock:
                seen = got.count(mark)
            for i in range(int(n)):
                s.sendall(b)
                sent.extend(b)
                deadline = time.time() + 10
                with lock:
                    while got.count(mark) < seen + i + 1 and time.time() < deadline:
                        lock.wait(0.1)
                    if got.count(mark) < seen + i + 1:
                        sys.exit("scripted_client: answer %d of %s never came" % (i + 1, n))
        elif kind == "repeat":
            n, _, h = arg.partition(":")
            b = bytes.fromhex(h)
            for _ in range(int(n)):
                s.sendall(b)
                sent.extend(b)
        elif kind == "sleep":
            time.sleep(float(arg))
        elif kind == "expect":
            want = bytes.fromhex(arg)
            deadline = time.time() + 10
            with lock:
                while want not in got and time.time() < deadline:
                    lock.wait(0.1)
                if want not in got:
                    sys.exit("scripted_client: never received %r" % want)
        else:
            sys.exit("scripted_client: unknown step " + step)
    s.shutdown(socket.SHUT_WR)
    t.join(10)
    open(sent_path, "wb").write(sent)
    open(recv_path, "wb").write(got)


if __name__ == "__main__":
    main()
