#!/bin/sh
# Throughput of --workers 1 against --workers 2 on bench/app.lua, with a client that is not
# the limit: wrk with two threads, each connection writing DEPTH pipelined requests at once
# (bench/pipeline.lua), so the client spends little CPU per request. Prints req/s, the CPU
# the server processes and wrk used (in cores), and the client's capacity estimate
# (req/s divided by the cores wrk used): when that is far above the req/s measured, the
# server was the limit. Loopback only; each run is bounded by DURATION.
#   usage: sh bench/workers_scaling.sh [DURATION_S] [DEPTH] [ROUNDS]
set -e
here=$(cd "$(dirname "$0")" && pwd)
bin=${LUNASERVE_BIN:-$here/../build/lunaserve}
dur=${1:-8}
depth=${2:-64}
rounds=${3:-3}
port=${PORT:-18480}
tck=$(getconf CLK_TCK)

ticks() { # total utime+stime of the given pids
    t=0
    for p in "$@"; do
        [ -r /proc/$p/stat ] || continue
        t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat)))
    done
    echo $t
}

run() { # run WORKERS: prints "req/s server_cores wrk_cores"
    "$bin" --workers "$1" --port "$port" "$here/app.lua" > /dev/null 2>&1 &
    master=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.1
    done
    pids="$master $(pgrep -P $master | tr '\n' ' ')"
    wrk -t2 -c64 -d2s -s "$here/pipeline.lua" "http://127.0.0.1:$port/" -- "$depth" > /dev/null
    s0=$(ticks $pids)
    out=$(mktemp)
    wrk -t2 -c64 -d${dur}s -s "$here/pipeline.lua" "http://127.0.0.1:$port/" -- "$depth" > "$out" &
    w=$!
    sleep 0.5
    c0=$(ticks $w)
    sleep $((dur - 1))
    c1=$(ticks $w)
    wait $w
    s1=$(ticks $pids)
    kill -TERM $master
    wait $master || true
    rps=$(awk '/Requests\/sec/ {print $2}' "$out")
    errs=$(grep -c 'Non-2xx\|Socket errors' "$out" || true)
    rm -f "$out"
    awk -v r="$rps" -v s=$((s1 - s0)) -v c=$((c1 - c0)) -v t="$tck" -v d="$dur" -v e="$errs" \
        'BEGIN { printf "%.0f %.2f %.2f %d\n", r, s / t / d, c / t / (d - 1), e }'
}

echo "workers  req/s     server cores  wrk cores  client capacity (req/s / wrk cores)  errors"
for r in $(seq "$rounds"); do
    one=$(run 1)
    two=$(run 2)
    for line in "1 $one" "2 $two"; do
        echo "$line" | awk '{ printf "%-8s %-9s %-13s %-10s %-37.0f %s\n", $1, $2, $3, $4, ($4 > 0 ? $2 / $4 : 0), $5 }'
    done
    echo "$one $two" | awk -v r="$r" '{ printf "round %d: --workers 2 / --workers 1 = %.2f\n", r, $5 / $1 }'
done
