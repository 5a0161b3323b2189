#!/usr/bin/env python3
"""Slowloris beside normal traffic: N connections each send one byte of a request head per
second, while wrk measures normal keep-alive requests. Prints wrk's latency with and without
the slow clients, and how many slow connections the server closed (by its header timeout).

usage: slowloris.py [--conns 500] [--seconds 10] [--header-timeout 12] [BINARY [APP]]
Only 127.0.0.1 is used; every loop is bounded in time.
"""
import argparse
import os
import re
import selectors
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def start(binary, app, header_timeout):
    p = subprocess.Popen([binary, "--port", "0", "--header-timeout", str(header_timeout), app],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    m = re.search(r":(\d+)/", line)
    if not m:
        p.kill()
        sys.exit("server did not start: " + line)
    return p, int(m.group(1))


def wrk(port, seconds):
    out = subprocess.run(["wrk", "-t1", "-c20", f"-d{seconds}s", "--latency",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps and rps.group(1), "p50": p50 and p50.group(1),
            "p99": p99 and p99.group(1), "errors": errors.group(1) if errors else "none"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--header-timeout", type=float, default=12)
    ap.add_argument("binary", nargs="?", default=os.path.join(ROOT, "build", "lunaserve"))
    ap.add_argument("app", nargs="?", default=os.path.join(ROOT, "bench", "app.lua"))
    a = ap.parse_args()

    srv, port = start(a.binary, a.app, a.header_timeout)
    try:
        base = wrk(port, a.seconds)
        head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 10000
        sel = selectors.DefaultSelector()
        slow = []
        for _ in range(a.conns):
            s = socket.create_connection(("127.0.0.1", port))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            slow.append(s)
        closed = set()
        sent = 0
        wrk_proc = subprocess.Popen(["wrk", "-t1", "-c20", f"-d{a.seconds}s", "--latency",
                                     f"http://127.0.0.1:{port}/"], stdout=subprocess.PIPE,
                                    text=True)
        deadline = time.time() + a.seconds + a.header_timeout + 5
        t0 = time.time()
        while time.time() < deadline and len(closed) < len(slow):
            for s in slow:  # one byte a second on each open connection
                if s not in closed:
                    try:
                        s.send(head[sent:sent + 1])
                    except OSError:
                        closed.add(s)
            sent += 1
            end = time.time() + 1
            while time.time() < end:
                for key, _ in sel.select(timeout=max(0, end - time.time())):
                    try:
                        if not key.fileobj.recv(4096):
                            closed.add(key.fileobj)
                            sel.unregister(key.fileobj)
                    except OSError:
                        closed.add(key.fileobj)
                        sel.unregister(key.fileobj)
        out = wrk_proc.communicate(timeout=60)[0]
        loaded = {"rps": re.search(r"Requests/sec:\s+([\d.]+)", out).group(1),
                  "p50": re.search(r"50%\s+([\d.]+\w+)", out).group(1),
                  "p99": re.search(r"99%\s+([\d.]+\w+)", out).group(1)}
        print(f"without slow clients: {base['rps']} req/s, p50 {base['p50']}, p99 {base['p99']}")
        print(f"with {a.conns} slow clients: {loaded['rps']} req/s, p50 {loaded['p50']}, "
              f"p99 {loaded['p99']}")
        print(f"slow connections closed by the server: {len(closed)} of {len(slow)} "
              f"after {time.time() - t0:.1f} s (header timeout {a.header_timeout} s)")
        for s in slow:
            s.close()
    finally:
        srv.terminate()
        srv.wait(timeout=15)


if __name__ == "__main__":
    main()
