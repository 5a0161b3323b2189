#!/usr/bin/env python3
"""A backend scenario's figures from a harness results.tsv (bench/backend.sh, bench/db.sh):
per round, each server's req/s and server CPU per request, and ME's ratio to REF; then the
medians, and where the CPU went (the client's CPU holds wrk and the backend, so a busy client
CPU means req/s says more about it than about the server).

usage: backend_summary.py RESULTS_TSV ME REF [BACKEND_CPU_PCT]
       [--title TEXT] [--backend NAME]
"""
import argparse
import csv
import statistics


def median_of(rows, server, col):
    vals = [float(r[col]) for (s, _), r in rows.items() if s == server and r[col] != "-"]
    return statistics.median(vals) if vals else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("me")
    ap.add_argument("ref")
    ap.add_argument("backend_cpu", nargs="?")
    ap.add_argument("--title", default="Backend: one Redis GET per request "
                    "(lua-resty-redis, pooled), keep-alive")
    ap.add_argument("--backend", default="redis-server")
    a = ap.parse_args()
    me, ref = a.me, a.ref
    rows = {}
    with open(a.path) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["status"] == "ok" and r["scenario"] == "hello":
                rows[(r["server"], r["round"])] = r
    rounds = sorted({k[1] for k in rows}, key=int)
    print(f"\n## {a.title}\n")
    print(f"| round | {me} req/s | {ref} req/s | req/s ratio | {me} CPU µs/req "
          f"| {ref} CPU µs/req | CPU/req ratio | errors |")
    print("|---|---|---|---|---|---|---|---|")
    rps_ratios, cpu_ratios = [], []
    for rd in rounds:
        x, y = rows.get((me, rd)), rows.get((ref, rd))
        if not x or not y:
            print(f"| {rd} | {'-' if not x else x['rps']} | {'-' if not y else y['rps']} "
                  "| - | - | - | - | a run failed |")
            continue
        rr = float(x["rps"]) / float(y["rps"])
        cr = float(x["srv_us_per_req"]) / float(y["srv_us_per_req"])
        rps_ratios.append(rr)
        cpu_ratios.append(cr)
        print(f"| {rd} | {float(x['rps']):,.0f} | {float(y['rps']):,.0f} | {rr:.2f} "
              f"| {x['srv_us_per_req']} | {y['srv_us_per_req']} | {cr:.2f} "
              f"| {x['errors']} / {y['errors']} |")
    if rps_ratios:
        print(f"\nmedian ratio {me} / {ref}: req/s {statistics.median(rps_ratios):.2f}, "
              f"server CPU per request {statistics.median(cpu_ratios):.2f} (lower is better)")
    for s in (me, ref):
        m = {c: median_of(rows, s, c) for c in
             ("rps", "srv_us_per_req", "srv_cpu_pct", "wrk_cpu_pct", "other_cpu_pct", "steal_pct")}
        if m["rps"] is None:
            continue
        print(f"{s} medians: {m['rps']:,.0f} req/s, {m['srv_us_per_req']:.1f} µs CPU/req, "
              f"server {m['srv_cpu_pct']:.0f}% CPU, wrk {m['wrk_cpu_pct']:.0f}%, everything "
              f"else on the machine {m['other_cpu_pct']:.0f}% ({a.backend} and other "
              f"processes; of 200%), steal {m['steal_pct']:.1f}%")
    if a.backend_cpu:
        print(f"{a.backend} used {a.backend_cpu}% of one CPU over the whole run "
              "(both servers, warm-ups included)")


if __name__ == "__main__":
    main()
