#!/bin/sh
# Reload soak: wrk keeps 50 connections busy against `--workers 2 --reload` while the app file
# is rewritten 50 times, alternating two versions that answer with their version; then the
# same with SIGHUP. Passes when no request fails, no connection errors (resets included),
# and every answer is one of the two versions. Loopback only; bounded in time.
# usage: sh bench/reload_soak.sh [BINARY]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build/lunaserve}
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
version() { printf 'return function(req, res)\n    res:finish("version %s\\n")\nend\n' "$1" > "$dir/app.lua"; }
status=0

soak() { # soak MODE: reload or sighup
    version 1
    if [ "$1" = reload ]; then
        "$bin" --port 0 --workers 2 --reload "$dir/app.lua" > "$dir/out" 2> "$dir/err" &
    else
        "$bin" --port 0 --workers 2 "$dir/app.lua" > "$dir/out" 2> "$dir/err" &
    fi
    pid=$!
    for _ in $(seq 50); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
    port=$(sed -n 's/.*:\([0-9]*\)\/.*/\1/p' "$dir/out")
    [ -n "$port" ] || { echo "server did not start"; cat "$dir/err"; exit 1; }
    timeout 60 wrk -t2 -c50 -d12s -s "$here/reload_check.lua" "http://127.0.0.1:$port/" \
        > "$dir/wrk" 2>&1 &
    wrk=$!
    sleep 1
    for i in $(seq 50); do
        version $((i % 2 == 0 ? 1 : 2))
        [ "$1" = sighup ] && kill -HUP $pid
        sleep 0.2
    done
    wait $wrk || true
    kill -TERM $pid
    wait $pid || { echo "server exit status $?"; status=1; }
    line=$(grep '^SOAK' "$dir/wrk" || true)
    rps=$(sed -n 's/Requests\/sec: *//p' "$dir/wrk")
    reloads=$(grep -c 'reloaded' "$dir/err" || true)
    failed=$(grep -c 'reload failed' "$dir/err" || true)
    echo "$1: $line req/s=$rps reloads=$reloads (in 2 workers) failed-loads=$failed"
    echo "$line" | grep -q 'other=0 connect=0 read=0 write=0 timeout=0 status=0' || status=1
    echo "$line" | grep -q 'version1=0 \|version2=0 ' && status=1
    return 0
}
soak reload
soak sighup
[ $status = 0 ] && echo "reload soak: passed" || echo "reload soak: FAILED"
exit $status
