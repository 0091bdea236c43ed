#!/usr/bin/python3
"""A container runtime and the kubelet writing and rotating one container's log, for the tests.

Writes lines FROM..TO of the container KEY into DIR/<restart>.log (DIR is the kubelet's
/var/log/pods/<ns>_<pod>_<uid>/<container>), in the CRI format or docker's json-file:

  - every line is "KEY i ...", on stdout or stderr by turns;
  - every 7th line is split as a runtime splits a long one: CRI "P" pieces then an "F" (json-file:
    pieces without "\\n"); joined, the message ends "part-one-part-two";
  - every 11th line carries a W3C traceparent made from i (trace id i in hex, span id i).

Rotation the kubelet's way, when the file reaches --rotate-bytes (or once after line
--rotate-after), but not before the file is --min-age seconds old (the kubelet looks every 10 s;
a follower that rescans every second sees every file): the file is renamed <restart>.log.<YYYYMMDD-HHMMSS>, the runtime writes a few
more lines through its open fd (it has not reopened yet), then reopens <restart>.log; every
rotated file but the newest is gzipped (.gz.tmp, renamed .gz) and removed. The fake rotation
times come from --state, so that names never repeat across runs.
"""
import argparse, datetime, gzip, json, os, shutil, time

LAG = 3  # lines written to the renamed file before the runtime reopens the log
BASE = datetime.datetime(2024, 5, 1, 10, 0, 0)


def trace(i):
    return "%032x" % (0xABC00000 + i), "%016x" % (0xDEF00000 + i)


def rfc3339(i):
    return "2024-05-01T10:%02d:%02d.%09dZ" % (i // 3600 % 60, i // 60 % 60, i % 1000000000)


def entries(key, i, fmt):
    """The bytes a runtime writes for line i: one or two entries."""
    stream = "stdout" if i % 2 else "stderr"
    if i % 11 == 0:
        t, s = trace(i)
        text = ["%s %d traceparent=00-%s-%s-01" % (key, i, t, s)]
    elif i % 7 == 0:
        text = ["%s %d part-one-" % (key, i), "part-two"]
    else:
        text = ["%s %d plain line" % (key, i)]
    out = b""
    for k, piece in enumerate(text):
        last = k == len(text) - 1
        if fmt == "cri":
            out += ("%s %s %s %s\n" % (rfc3339(i), stream, "F" if last else "P", piece)).encode()
        else:
            out += (json.dumps({"log": piece + ("\n" if last else ""), "stream": stream,
                                "time": rfc3339(i)}) + "\n").encode()
    return out


def compress_older(d, restart):
    prefix = "%d.log." % restart
    rotated = sorted(f for f in os.listdir(d) if f.startswith(prefix) and not f.endswith((".gz", ".tmp")))
    for f in rotated[:-1]:
        src = os.path.join(d, f)
        with open(src, "rb") as a, gzip.open(src + ".gz.tmp", "wb") as b:
            shutil.copyfileobj(a, b)
        os.rename(src + ".gz.tmp", src + ".gz")
        os.unlink(src)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--restart", type=int, default=0)
    ap.add_argument("--format", choices=["cri", "docker"], default="cri")
    ap.add_argument("--from", dest="first", type=int, required=True)
    ap.add_argument("--to", dest="last", type=int, required=True)
    ap.add_argument("--rotate-bytes", type=int, default=0)
    ap.add_argument("--rotate-after", type=int, default=0)
    ap.add_argument("--min-age", type=float, default=1.5)
    ap.add_argument("--state", required=True)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    n = int(open(a.state).read()) if os.path.exists(a.state) else 0
    path = os.path.join(a.dir, "%d.log" % a.restart)
    f = open(path, "ab", buffering=0)
    born = time.monotonic() if f.tell() == 0 else 0
    lag = 0
    for i in range(a.first, a.last + 1):
        f.write(entries(a.key, i, a.format))
        if lag:
            lag -= 1
            if not lag:  # the runtime reopens the log
                f.close()
                f = open(path, "ab", buffering=0)
                born = time.monotonic()
            continue
        if (a.rotate_bytes and f.tell() >= a.rotate_bytes) or i == a.rotate_after:
            time.sleep(max(0, born + a.min_age - time.monotonic()))
            n += 1
            os.rename(path, "%s.%s" % (path, (BASE + datetime.timedelta(seconds=n)).strftime("%Y%m%d-%H%M%S")))
            compress_older(a.dir, a.restart)
            lag = LAG
    f.close()
    with open(a.state, "w") as s:
        s.write(str(n))


if __name__ == "__main__":
    main()
