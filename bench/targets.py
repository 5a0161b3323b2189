#!/usr/bin/env python3
"""The issue 5 targets, read from a harness results.tsv: each ratio per round, then the median.

usage: targets.py RESULTS_TSV [NAME]   (NAME: the lunaserve row's name, default lunaserve)
"""
import csv
import statistics
import sys


def main():
    path = sys.argv[1]
    me = sys.argv[2] if len(sys.argv) > 2 else "lunaserve"
    rows = {}
    with open(path) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["status"] == "ok":
                rows[(r["server"], r["round"], r["scenario"])] = r
    rounds = sorted({k[1] for k in rows})

    def ratio(scenario, col, other):
        vals = []
        for rd in rounds:
            a, b = rows.get((me, rd, scenario)), rows.get((other, rd, scenario))
            try:
                vals.append(float(a[col]) / float(b[col]))
            except (TypeError, ValueError, ZeroDivisionError):
                pass
        return statistics.median(vals) if vals else None

    def own(scenario, fn):
        vals = [fn(rows[(me, rd, scenario)]) for rd in rounds if (me, rd, scenario) in rows]
        return statistics.median(vals) if vals else None

    per_conn = lambda r: ((float(r["rss_conns_kb"]) - float(r["rss_idle_kb"]))
                          / max(1.0, float(r["conns_alive"])))
    idle_mib = lambda r: float(r["rss_idle_kb"]) / 1024
    targets = [
        ("hello server CPU/req vs nginx-lua", ratio("hello", "srv_us_per_req", "nginx-lua"), "<=", 0.8),
        ("hello server CPU/req vs nginx-static", ratio("hello", "srv_us_per_req", "nginx-static"), "<=", 1.0),
        ("close req/s vs nginx-lua", ratio("close", "rps", "nginx-lua"), ">=", 1.0),
        ("64k req/s vs nginx-lua", ratio("64k", "rps", "nginx-lua"), ">=", 1.0),
        ("hello req/s vs node", ratio("hello", "rps", "node"), ">=", 3.0),
        ("idle KiB per keep-alive connection", own("idle", per_conn), "<=", 1.0),
        ("idle RSS MiB", own("idle", idle_mib), "<=", 8.0),
    ]
    print(f"\n## Targets ({len(rounds)} round(s), median)\n")
    print("| target | measured | goal | met |")
    print("|---|---|---|---|")
    for name, value, op, goal in targets:
        if value is None:
            print(f"| {name} | not measured | {op} {goal} | - |")
            continue
        met = value <= goal if op == "<=" else value >= goal
        print(f"| {name} | {value:.2f} | {op} {goal} | {'yes' if met else 'no'} |")
    node_cpu = ratio("hello", "srv_us_per_req", "node")
    if node_cpu:
        print(f"\nhello server CPU per request, node / lunaserve: {1 / node_cpu:.2f}")
    print("\n`--workers 2` scaling is not measured by the harness (one wrk thread is the limit):"
          " run `sh bench/workers_scaling.sh`.")


if __name__ == "__main__":
    main()
