#!/bin/sh
# make bench: lunaserve (bench/app.lua, one worker) beside the peers of ../shared/bench,
# measured by the same harness, with every server's ratio to nginx-lua.
# Extra arguments go to the harness (e.g. `sh bench/run.sh -r 3 -s hello`).
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
harness=${BENCH_HARNESS:-$root/../shared/bench/run.sh}
[ -x "$harness" ] || { echo "no benchmark harness at $harness" >&2; exit 2; }
exec "$harness" -R nginx-lua "$@" "lunaserve=$root/build/lunaserve $here/app.lua" \
    nginx-lua nginx-static luv node
