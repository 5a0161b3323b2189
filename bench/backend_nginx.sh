#!/bin/sh
# Runs nginx + Lua with bench/backend_nginx.conf in the foreground on 127.0.0.1:$PORT, talking
# to the Redis on $REDIS_PORT; its prefix is a scratch folder under $BENCH_TMP (set by the
# harness) or $TMPDIR. Started by ../shared/bench/run.sh for bench/backend.sh.
set -e
here=$(cd "$(dirname "$0")" && pwd)
port=${PORT:-8080}
: "${REDIS_PORT:?REDIS_PORT is not set}"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
prefix=${BENCH_TMP:-${TMPDIR:-/tmp}}/nginx-backend-$port
mkdir -p "$prefix/tmp"
chmod 755 "$prefix"
sed -e "s/@PORT@/$port/g" -e "s/@REDIS_PORT@/$REDIS_PORT/g" "$here/backend_nginx.conf" > "$prefix/nginx.conf"
exec "$nginx" -p "$prefix/" -c "$prefix/nginx.conf" -e stderr
