#!/bin/sh
# A throwaway PostgreSQL for apps/todo (or any app that reads DATABASE_URL): Debian's
# PostgreSQL in a temporary folder, run as a non-root user (postgres, when this runs as
# root), on a free loopback port. Prints the DATABASE_URL to use and the command that starts
# the app; stops the server (by its PID) and removes the folder on Ctrl-C.
#
#   sh apps/todo/start-postgres.sh        # then, in another terminal, the command it prints
set -e
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bindir" ] || [ ! -x "$bindir/postgres" ]; then
    echo "PostgreSQL is not installed: apt-get install postgresql" >&2
    exit 1
fi
dir=$(mktemp -d /tmp/lunaserve-pg.XXXXXX)
run_as=
if [ "$(id -u)" = 0 ]; then
    run_as="setpriv --reuid=postgres --regid=postgres --init-groups --"
    chown postgres: "$dir"
fi
pid=
stop() {
    if [ -n "$pid" ]; then
        kill -INT "$pid" 2>/dev/null || true # fast shutdown
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$pid" 2>/dev/null || true
        pid=
    fi
    rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM
# a free port: bind to 0 and read what the kernel chose
port=$(lua5.4 -e 'local s = require("socket").bind("127.0.0.1", 0) local _, p = s:getsockname() print(p) s:close()' 2>/dev/null ||
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$run_as "$bindir/initdb" -D "$dir/data" -U app -E UTF8 --locale=C --auth=trust --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
$run_as "$bindir/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
    >"$dir/postgres.log" 2>&1 &
pid=$!
i=0
until "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; do
    i=$((i + 1))
    if [ $i -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "PostgreSQL did not start:" >&2
        tail -20 "$dir/postgres.log" >&2
        exit 1
    fi
    sleep 0.1
done
"$bindir/createdb" -h 127.0.0.1 -p "$port" -U app todo
url="postgresql://app@127.0.0.1:$port/todo"
echo "PostgreSQL is running (pid $pid, data in $dir; Ctrl-C stops it and removes it)."
echo "DATABASE_URL=$url"
echo "  DATABASE_URL=$url build/lunaserve apps/todo"
wait "$pid" || true
pid=
