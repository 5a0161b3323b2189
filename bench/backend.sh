#!/bin/sh
# The "backend" scenario (issue 10): every request does one Redis GET through Debian's
# lua-resty-redis (unmodified) on a pooled connection (set_keepalive) and answers with the
# value. lunaserve (bench/backend_app.lua, one process) beside nginx + Lua
# (bench/backend_nginx.sh, the same library), measured side by side by ../shared/bench's
# harness: its keep-alive `hello` scenario (wrk -t1 -c50, GET /) is this scenario here.
# The servers run on CPU 0 and wrk on CPU 1 (the harness); redis-server runs pinned to
# REDIS_CPU (default 1, beside wrk, so it never takes CPU from the server measured).
# Extra arguments go to the harness (e.g. `-r 3 -d 10`).
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
harness=${BENCH_HARNESS:-$root/../shared/bench/run.sh}
[ -x "$harness" ] || { echo "no benchmark harness at $harness" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "missing redis-server (make bench installs it)" >&2; exit 2; }
[ -f /usr/share/lua/5.1/nginx/redis.lua ] ||
    { echo "missing /usr/share/lua/5.1/nginx/redis.lua (Debian's lua-nginx-redis)" >&2; exit 2; }
REDIS_CPU=${REDIS_CPU:-${CLIENT_CPU:-1}}
[ "$(nproc)" -ge 2 ] || REDIS_CPU=0

# Redis on a free loopback port, no persistence, in a scratch folder; stopped by its pid.
tmp=$(mktemp -d)
rpid=
stop_redis() {
    if [ -n "$rpid" ]; then
        kill -TERM "$rpid" 2>/dev/null || true
        i=0
        while kill -0 "$rpid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$rpid" 2>/dev/null || true
        wait "$rpid" 2>/dev/null || true
        rpid=
    fi
    rm -rf "$tmp"
}
trap stop_redis EXIT
trap 'exit 130' INT TERM
REDIS_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
taskset -c "$REDIS_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
    --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
rpid=$!
i=0
until [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$rpid" 2>/dev/null; then
        echo "redis-server did not start on port $REDIS_PORT:" >&2
        tail -20 "$tmp/redis.log" >&2
        exit 1
    fi
    sleep 0.1
done
# the value every request reads: 14 bytes, as the other scenarios' hello
printf 'Hello, Redis!\n' | redis-cli -p "$REDIS_PORT" -x set bench:value >/dev/null
export REDIS_PORT

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
out=${TMPDIR:-/tmp}/bench-results/backend-$(date +%Y%m%d-%H%M%S)
echo "backend scenario: GET / = one Redis GET (lua-resty-redis, pooled) on 127.0.0.1:$REDIS_PORT," \
    "redis-server on CPU $REDIS_CPU; the harness calls it 'hello'" >&2
r0=$(ticks "$rpid")
t0=$(date +%s.%N)
"$harness" -o "$out" -s hello -R nginx-lua-redis "$@" \
    "lunaserve-redis=$root/build/lunaserve $here/backend_app.lua" \
    "nginx-lua-redis=$here/backend_nginx.sh"
r1=$(ticks "$rpid")
t1=$(date +%s.%N)
python3 "$here/backend_summary.py" "$out/results.tsv" lunaserve-redis nginx-lua-redis \
    "$(awk -v a="$r0" -v b="$r1" -v hz="$(getconf CLK_TCK)" -v s="$t0" -v e="$t1" \
        'BEGIN { printf "%.1f", 100 * (b - a) / hz / (e - s) }')"
