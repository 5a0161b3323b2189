#!/bin/sh
# Runs nginx with bench/static_nginx.conf in the foreground on 127.0.0.1:$PORT, serving
# $STATIC_ROOT; its prefix is a scratch folder under $BENCH_TMP (set by the harness) or
# $TMPDIR. Started by ../shared/bench/run.sh for bench/static.sh.
set -e
here=$(cd "$(dirname "$0")" && pwd)
port=${PORT:-8080}
: "${STATIC_ROOT:?STATIC_ROOT is not set}"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
prefix=${BENCH_TMP:-${TMPDIR:-/tmp}}/nginx-static-files-$port
mkdir -p "$prefix/tmp"
chmod 755 "$prefix"
sed -e "s/@PORT@/$port/g" -e "s|@ROOT@|$STATIC_ROOT|g" "$here/static_nginx.conf" > "$prefix/nginx.conf"
exec "$nginx" -p "$prefix/" -c "$prefix/nginx.conf" -e stderr
