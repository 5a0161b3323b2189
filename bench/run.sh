#!/bin/sh
# make bench: lunaserve (bench/app.lua, one worker) beside the peers of ../shared/bench,
# measured by the same harness, with every server's ratio to nginx-lua, then the issue 5
# targets (bench/targets.py). Extra arguments go to the harness (e.g. `-r 3 -s hello`).
# Then the backend scenario (bench/backend.sh: a Redis GET per request, lunaserve beside
# nginx + Lua), with default settings; BENCH_BACKEND=0 leaves it out. Then the db scenario
# (bench/db.sh: a PostgreSQL SELECT by primary key per request, lunaserve beside Node.js and
# npm's `pg`), 3 rounds; BENCH_DB=0 leaves it out. Then the static scenario (bench/static.sh:
# a 4 KiB and a 1 MiB file, lunaserve's apps/static beside nginx); BENCH_STATIC=0 leaves it out.
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
harness=${BENCH_HARNESS:-$root/../shared/bench/run.sh}
[ -x "$harness" ] || { echo "no benchmark harness at $harness" >&2; exit 2; }
out=${TMPDIR:-/tmp}/bench-results/lunaserve-$(date +%Y%m%d-%H%M%S)
"$harness" -o "$out" -R nginx-lua "$@" "lunaserve=$root/build/lunaserve $here/app.lua" \
    nginx-lua nginx-static luv node
python3 "$here/targets.py" "$out/results.tsv"
[ "${BENCH_BACKEND:-1}" = 0 ] || sh "$here/backend.sh"
[ "${BENCH_DB:-1}" = 0 ] || sh "$here/db.sh"
[ "${BENCH_STATIC:-1}" = 0 ] || sh "$here/static.sh"
