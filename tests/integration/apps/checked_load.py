#!/usr/bin/python3
"""Load that checks every answer byte for byte, against httpd.py: each thread keeps one
keep-alive connection (a new one every --reconnect requests, so that an agent attached later
sees new connections) and alternates GET /load/<thread>/<i> (the body must be exactly
"hello /load/<thread>/<i>\\n") and POST /echo with a random body of up to --max-body bytes (the
answer must be that body). A failed request (error, reset, timeout, wrong status) is counted and
the connection reopened; a wrong body is counted as corrupted. Runs until --stop FILE exists (or
--seconds pass), then writes {"ok", "failed", "corrupted", "errors"} as JSON to --out.
"""
import argparse, http.client, json, os, random, threading, time


def worker(a, tid, res, lock):
    rnd = random.Random(tid)
    conn, i, t_end = None, 0, time.time() + a.seconds
    while not os.path.exists(a.stop) and time.time() < t_end:
        i += 1
        if conn is not None and i % a.reconnect == 0:
            conn.close()
            conn = None
        t0, what = time.time(), "GET" if i % 2 else "POST"
        try:
            if conn is None:
                conn = http.client.HTTPConnection(a.host, a.port, timeout=10)
            if i % 2:
                path = "/load/%d/%d" % (tid, i)
                want = ("hello %s\n" % path).encode()
                conn.request("GET", path)
            else:
                want = rnd.randbytes(rnd.randint(1, a.max_body))
                conn.request("POST", "/echo", body=want,
                             headers={"Content-Type": "application/octet-stream"})
            r = conn.getresponse()
            got = r.read()
            if r.status != 200:
                raise RuntimeError("HTTP %d" % r.status)
            key = "ok" if got == want else "corrupted"
        except Exception as e:  # noqa: BLE001 - every failure counts, whatever it is
            key = "failed"
            with lock:
                if len(res["errors"]) < 10:
                    res["errors"].append("%s.%03d thread %d request %d (%s%s): %r" % (
                        time.strftime("%H:%M:%S", time.localtime(t0)), int(t0 * 1000) % 1000, tid, i,
                        what, "" if i % 2 else " %d bytes" % len(want), e))
            if conn:
                conn.close()
            conn = None
        with lock:
            res[key] += 1
            if key == "corrupted" and len(res["errors"]) < 10:
                res["errors"].append("corrupted body: %d bytes, want %d" % (len(got), len(want)))
        if a.pause:
            time.sleep(a.pause)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--max-body", type=int, default=65536)
    ap.add_argument("--reconnect", type=int, default=20)
    ap.add_argument("--pause", type=float, default=0, help="seconds between a thread's requests")
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--progress", help="file rewritten with the count of answered requests")
    a = ap.parse_args()
    res, lock = {"ok": 0, "failed": 0, "corrupted": 0, "errors": []}, threading.Lock()
    ts = [threading.Thread(target=worker, args=(a, t, res, lock)) for t in range(a.threads)]
    for t in ts:
        t.start()
    while any(t.is_alive() for t in ts):
        if a.progress:
            with lock:
                n = res["ok"] + res["corrupted"]
            with open(a.progress + ".tmp", "w") as f:
                f.write("%d\n" % n)
            os.replace(a.progress + ".tmp", a.progress)
        time.sleep(0.1)
    with open(a.out, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
