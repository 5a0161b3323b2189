#!/bin/sh
# WebSocket echo of small messages (issue 14's benchmark): lunaserve (apps/ws-echo, the release
# build, one process) beside Node.js (bench/ws_node_echo.js: Debian's node-ws, one process),
# measured side by side with the same client, bench/ws_load.c (compiled here with cc -O2 into
# build/ws_load): CONNS connections, each keeping INFLIGHT masked text messages of SIZE bytes
# in flight, WARMUP seconds unmeasured, then DURATION seconds counted. ROUNDS rounds, the two
# servers alternating which goes first. The server's CPU (utime + stime from /proc/PID/stat)
# is read by the client at the start and end of the counted window, so CPU per message covers
# exactly the messages counted; "client cores" is the client's own CPU in that window (near
# 1.00: the client, not the server, was the limit, and msgs/s says little; CPU per message
# still holds).
# Pinning: the server runs on SERVER_CPU (0), the client on CLIENT_CPU (1).
# Loopback only; every server is stopped by its PID.
#   usage: sh bench/ws_echo.sh [DURATION_S (10)] [ROUNDS (3)]
#   env:   CONNS (50) INFLIGHT (16) SIZE (32) WARMUP (2) SERVER_CPU (0) CLIENT_CPU (1)
#          LUNASERVE_BIN (build/lunaserve)
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${LUNASERVE_BIN:-$root/build/lunaserve}
dur=${1:-10}
rounds=${2:-3}
CONNS=${CONNS:-50}
INFLIGHT=${INFLIGHT:-16}
SIZE=${SIZE:-32}
WARMUP=${WARMUP:-2}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
[ "$(nproc)" -ge 2 ] || CLIENT_CPU=0

[ -x "$bin" ] || { echo "no $bin: build it first (make build)" >&2; exit 2; }
command -v node >/dev/null || { echo "missing node: install nodejs" >&2; exit 2; }
[ -f /usr/share/nodejs/ws/package.json ] || { echo "missing Node's ws: install node-ws" >&2; exit 2; }
command -v taskset >/dev/null || { echo "missing taskset: install util-linux" >&2; exit 2; }

load=$root/build/ws_load
if [ ! -x "$load" ] || [ "$here/ws_load.c" -nt "$load" ]; then
    mkdir -p "$root/build"
    cc -O2 -Wall -Wextra -o "$load" "$here/ws_load.c"
fi

tmp=$(mktemp -d)
spid=
cleanup() {
    if [ -n "$spid" ]; then
        kill -TERM "$spid" 2>/dev/null || true
        wait "$spid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME: starts a server on CPU SERVER_CPU, sets spid and sport (its port).
start() {
    : > "$tmp/out"
    case $1 in
    lunaserve)
        taskset -c "$SERVER_CPU" "$bin" --host 127.0.0.1 --port 0 "$root/apps/ws-echo" \
            > "$tmp/out" 2> "$tmp/err" &
        ;;
    node)
        NODE_PATH=/usr/share/nodejs taskset -c "$SERVER_CPU" node "$here/ws_node_echo.js" 0 \
            > "$tmp/out" 2> "$tmp/err" &
        ;;
    esac
    spid=$!
    sport=
    for _ in $(seq 100); do
        sport=$(sed -n 's/^lunaserve listening on http:\/\/127\.0\.0\.1:\([0-9]*\)\/$/\1/p;
                        s/^listening \([0-9]*\)$/\1/p' "$tmp/out")
        [ -n "$sport" ] && return 0
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.1
    done
    echo "$1 did not start:" >&2
    cat "$tmp/out" "$tmp/err" >&2
    stop
    exit 1
}

stop() {
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    spid=
}

# measure NAME: one run; prints "rate cpu_us_per_msg server_cores client_cores". (It runs in a
# command substitution, a subshell without the EXIT trap: it stops its server itself.)
measure() {
    start "$1"
    if ! taskset -c "$CLIENT_CPU" "$load" -p "$sport" -c "$CONNS" -k "$INFLIGHT" -s "$SIZE" \
        -d "$dur" -w "$WARMUP" -P "$spid" > "$tmp/load" 2> "$tmp/load.err"; then
        echo "the load against $1 failed:" >&2
        cat "$tmp/load" "$tmp/load.err" "$tmp/err" >&2
        stop
        exit 1
    fi
    stop
    sed -n 's/.* seconds=\([0-9.]*\) .* rate=\([0-9.]*\) client_cores=\([0-9.]*\) server_cpu_s=\([0-9.]*\) cpu_us_per_msg=\([0-9.]*\) .*/\2 \5 \4 \1 \3/p' \
        "$tmp/load" | awk '{ printf "%s %s %.2f %s\n", $1, $2, $3 / $4, $5 }'
}

echo "WebSocket echo: $CONNS connections x $INFLIGHT in flight, $SIZE-byte text messages," \
    "${dur}s counted after ${WARMUP}s warm-up; server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-10s %10s %11s %13s %13s\n' round server "msgs/s" "CPU us/msg" "server cores" "client cores"
: > "$tmp/rounds"
for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then order="lunaserve node"; else order="node lunaserve"; fi
    for s in $order; do
        set -- $(measure "$s")
        [ $# = 4 ] || { echo "no figures from the load against $s" >&2; exit 1; }
        printf '%-6s %-10s %10s %11s %13s %13s\n' "$r" "$s" "$1" "$2" "$3" "$4"
        eval "${s}_rate=$1 ${s}_cpu=$2"
    done
    echo "$r $lunaserve_rate $lunaserve_cpu $node_rate $node_cpu" >> "$tmp/rounds"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "ratios (lunaserve / node): msgs/s higher is better, CPU per message lower is better"
awk '{
    rr = $2 / $4; cr = $3 / $5
    printf "round %d: msgs/s %.2f  CPU/msg %.2f\n", $1, rr, cr
    r[NR] = rr; c[NR] = cr
} END {
    n = NR
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) {
        if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
        if (c[j] < c[i]) { t = c[i]; c[i] = c[j]; c[j] = t }
    }
    m = int((n + 1) / 2)
    printf "median: msgs/s %.2f  CPU/msg %.2f\n", r[m], c[m]
}' "$tmp/rounds"
