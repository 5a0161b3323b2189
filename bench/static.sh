#!/bin/sh
# The "static" scenario (issue 12): files from disk, a 4 KiB one and a 1 MiB one, served by
# lunaserve (apps/static: lunaserve.static, the body sent with sendfile) and by nginx (sendfile
# on, bench/static_nginx.conf) from the same scratch folder, measured side by side by
# ../shared/bench's harness. The harness asks for `GET /` and `GET /64k`: here its `hello`
# scenario is the 4 KiB file (the folder's index.html) and its `64k` scenario the 1 MiB file
# (named 64k), both keep-alive, wrk -t1 -c50, servers on CPU 0, wrk on CPU 1. Neither server
# ends a keep-alive connection during a run (nginx: keepalive_requests 1000000; lunaserve:
# --max-requests 1000000, as bench/app.lua's max_requests), so wrk never reconnects.
# Extra arguments go to the harness (e.g. `-r 3 -d 10`).
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
harness=${BENCH_HARNESS:-$root/../shared/bench/run.sh}
[ -x "$harness" ] || { echo "no benchmark harness at $harness" >&2; exit 2; }
[ -x "$root/build/lunaserve" ] || { echo "no $root/build/lunaserve (make build)" >&2; exit 2; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "missing nginx (make bench installs it)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir "$tmp/www"
head -c 4096 /dev/zero | tr '\0' a > "$tmp/www/index.html"
head -c 1048576 /dev/zero | tr '\0' b > "$tmp/www/64k"
chmod 755 "$tmp" "$tmp/www"             # nginx's worker may run as "nobody"
chmod 644 "$tmp/www/index.html" "$tmp/www/64k"
export STATIC_ROOT="$tmp/www"

out=${TMPDIR:-/tmp}/bench-results/static-$(date +%Y%m%d-%H%M%S)
echo "static scenario: the harness's 'hello' is a 4 KiB file (GET /, index.html)," \
    "its '64k' a 1 MiB file (GET /64k)" >&2
"$harness" -o "$out" -s hello,64k -R nginx-static-files "$@" \
    "lunaserve-static=$root/build/lunaserve --max-requests 1000000 $root/apps/static" \
    "nginx-static-files=$here/static_nginx.sh"
