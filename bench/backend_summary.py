#!/usr/bin/env python3
"""The backend scenario's figures from a harness results.tsv (bench/backend.sh): per round,
each server's req/s and server CPU per request, and lunaserve's ratio to nginx + Lua; then
the medians.

usage: backend_summary.py RESULTS_TSV ME REF [REDIS_CPU_PCT]
"""
import csv
import statistics
import sys


def main():
    path, me, ref = sys.argv[1:4]
    redis_cpu = sys.argv[4] if len(sys.argv) > 4 else None
    rows = {}
    with open(path) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["status"] == "ok" and r["scenario"] == "hello":
                rows[(r["server"], r["round"])] = r
    rounds = sorted({k[1] for k in rows}, key=int)
    print("\n## Backend: one Redis GET per request (lua-resty-redis, pooled), keep-alive\n")
    print(f"| round | {me} req/s | {ref} req/s | req/s ratio | {me} CPU µs/req "
          f"| {ref} CPU µs/req | CPU/req ratio | errors |")
    print("|---|---|---|---|---|---|---|---|")
    rps_ratios, cpu_ratios = [], []
    for rd in rounds:
        a, b = rows.get((me, rd)), rows.get((ref, rd))
        if not a or not b:
            print(f"| {rd} | {'-' if not a else a['rps']} | {'-' if not b else b['rps']} "
                  "| - | - | - | - | a run failed |")
            continue
        rr = float(a["rps"]) / float(b["rps"])
        cr = float(a["srv_us_per_req"]) / float(b["srv_us_per_req"])
        rps_ratios.append(rr)
        cpu_ratios.append(cr)
        print(f"| {rd} | {float(a['rps']):,.0f} | {float(b['rps']):,.0f} | {rr:.2f} "
              f"| {a['srv_us_per_req']} | {b['srv_us_per_req']} | {cr:.2f} "
              f"| {a['errors']} / {b['errors']} |")
    if rps_ratios:
        print(f"\nmedian ratio {me} / {ref}: req/s {statistics.median(rps_ratios):.2f}, "
              f"server CPU per request {statistics.median(cpu_ratios):.2f} (lower is better)")
    if redis_cpu:
        print(f"redis-server used {redis_cpu}% of one CPU over the whole run "
              "(both servers, warm-ups included)")


if __name__ == "__main__":
    main()
