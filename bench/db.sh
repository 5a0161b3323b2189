#!/bin/sh
# The "db" scenario (issue 11): every request reads one row by primary key from a 10,000-row
# PostgreSQL table through a pool of PG_POOL_SIZE (10) connections and answers it as JSON,
# {"id":N,"randomNumber":M}. lunaserve (bench/db_app.lua: lunaserve.pg, cjson; one process)
# beside Node.js (bench/db_node.js: the `pg` package from npm, pure JavaScript; one process),
# measured side by side by ../shared/bench's harness: its keep-alive `hello` scenario
# (wrk -t1 -c50, GET /, the server picks a random id) is this scenario here, 3 rounds
# alternating the two servers unless told otherwise.
# Pinning: the servers run on CPU 0 and wrk on CPU 1 (the harness); PostgreSQL (its postmaster,
# so every backend) runs on PG_CPU, default 1 beside wrk, so that it never takes CPU from the
# server measured and the server's CPU per request is its own.
# PostgreSQL is Debian's, made by initdb in a scratch folder, run as the postgres user (when
# this runs as root) on a free loopback port, and stopped by its PID at the end. `pg` is
# installed by npm into build/bench-node (bench/db_node/package.json pins it).
# Extra arguments go to the harness (e.g. `-r 1 -d 5`).
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
harness=${BENCH_HARNESS:-$root/../shared/bench/run.sh}
[ -x "$harness" ] || { echo "no benchmark harness at $harness" >&2; exit 2; }
[ -x "$root/build/lunaserve" ] || { echo "no $root/build/lunaserve: build it first" >&2; exit 2; }
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bindir" ] || [ ! -x "$bindir/postgres" ]; then
    echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin): install postgresql" >&2
    exit 2
fi
command -v node >/dev/null || { echo "missing node (make bench installs nodejs)" >&2; exit 2; }
command -v npm >/dev/null || sh "$here/deps.sh" npm
lua5.4 -e 'require("cjson")' 2>/dev/null ||
    { echo "missing lua-cjson (the lunaserve app encodes with it)" >&2; exit 2; }
PG_CPU=${PG_CPU:-${CLIENT_CPU:-1}}
[ "$(nproc)" -ge 2 ] || PG_CPU=0
PG_POOL_SIZE=${PG_POOL_SIZE:-10}
ROWS=10000
export PG_POOL_SIZE

# Node's `pg`, installed once into the build folder (again when the pinned version changes).
nodedir=$root/build/bench-node
if ! cmp -s "$here/db_node/package.json" "$nodedir/package.json" ||
    [ ! -f "$nodedir/node_modules/pg/package.json" ]; then
    echo "installing node's pg into $nodedir (npm)" >&2
    rm -rf "$nodedir"
    mkdir -p "$nodedir"
    cp "$here/db_node/package.json" "$nodedir/"
    (cd "$nodedir" && timeout 300 npm install --omit=dev --no-audit --no-fund \
        --no-package-lock --loglevel=error >/dev/null) ||
        { rm -rf "$nodedir"; echo "npm install failed in $nodedir" >&2; exit 1; }
fi
export NODE_PATH="$nodedir/node_modules"

# PostgreSQL in a scratch folder, as the postgres user when root (it refuses to run as root).
tmp=$(mktemp -d)
chmod 755 "$tmp"
# $run_as is left unquoted where used: empty, or a command and its options
run_as=
[ "$(id -u)" != 0 ] || run_as="setpriv --reuid=postgres --regid=postgres --init-groups --"
ppid_=
stop_pg() {
    if [ -n "$ppid_" ]; then
        kill -INT "$ppid_" 2>/dev/null || true   # fast shutdown
        i=0
        while kill -0 "$ppid_" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$ppid_" 2>/dev/null || true
        wait "$ppid_" 2>/dev/null || true
        ppid_=
    fi
    rm -rf "$tmp"
}
trap stop_pg EXIT
trap 'exit 130' INT TERM
[ "$(id -u)" != 0 ] || chown postgres: "$tmp"
printf 'postgres\n' > "$tmp/pwfile"
[ "$(id -u)" != 0 ] || chown postgres: "$tmp/pwfile"
# shellcheck disable=SC2086
$run_as "$bindir/initdb" -D "$tmp/data" -U postgres -E UTF8 --locale=C --auth-local=trust \
    --auth-host=scram-sha-256 --no-sync --pwfile="$tmp/pwfile" > "$tmp/initdb.log" 2>&1 ||
    { cat "$tmp/initdb.log" >&2; exit 1; }
PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086
taskset -c "$PG_CPU" $run_as "$bindir/postgres" -D "$tmp/data" -p "$PG_PORT" -k "$tmp" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=100 -c log_min_messages=warning </dev/null >"$tmp/log" 2>&1 &
ppid_=$!
i=0
until "$bindir/pg_isready" -q -h "$tmp" -p "$PG_PORT"; do
    i=$((i + 1))
    if [ $i -gt 200 ] || ! kill -0 "$ppid_" 2>/dev/null; then
        echo "PostgreSQL did not start on 127.0.0.1:$PG_PORT:" >&2
        tail -20 "$tmp/log" >&2
        exit 1
    fi
    sleep 0.1
done
psql_() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp" -p "$PG_PORT" -U postgres "$@" >/dev/null; }
psql_ -d postgres -c "CREATE ROLE app LOGIN PASSWORD 'secret'" -c "CREATE DATABASE app OWNER app"
psql_ -d app -c "SET ROLE app" \
    -c "CREATE TABLE world (id integer PRIMARY KEY, randomnumber integer NOT NULL)" \
    -c "INSERT INTO world SELECT i, 1 + floor(random() * $ROWS)::int FROM generate_series(1, $ROWS) i" \
    -c "VACUUM ANALYZE world"
export DATABASE_URL="postgresql://app:secret@127.0.0.1:$PG_PORT/app"

ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }  # its own and reaped children's
out=${TMPDIR:-/tmp}/bench-results/db-$(date +%Y%m%d-%H%M%S)
echo "db scenario: GET / = SELECT one of $ROWS rows by primary key, as JSON; pools of" \
    "$PG_POOL_SIZE; PostgreSQL $("$bindir/postgres" -V | awk '{ print $3 }') on 127.0.0.1:$PG_PORT" \
    "on CPU $PG_CPU; node $(node -v), pg $(node -p 'require("pg/package.json").version');" \
    "the harness calls it 'hello'; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
p0=$(ticks "$ppid_")
t0=$(date +%s.%N)
"$harness" -o "$out" -s hello -r 3 -R node-pg "$@" \
    "lunaserve-pg=$root/build/lunaserve $here/db_app.lua" \
    "node-pg=node $here/db_node.js"
# the backends end with their clients' connections; once reaped, their CPU is in p1
sleep 1
p1=$(ticks "$ppid_")
t1=$(date +%s.%N)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 "$here/backend_summary.py" "$out/results.tsv" lunaserve-pg node-pg \
    "$(awk -v a="$p0" -v b="$p1" -v hz="$(getconf CLK_TCK)" -v s="$t0" -v e="$t1" \
        'BEGIN { printf "%.1f", 100 * (b - a) / hz / (e - s) }')" \
    --title "DB: one SELECT by primary key per request (10,000 rows, pool of $PG_POOL_SIZE), JSON, keep-alive" \
    --backend PostgreSQL
