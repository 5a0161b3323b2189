-- Test support: a real PostgreSQL (Debian's postgresql-15) for the specs, in a temporary
-- folder, run as the `postgres` user (the server refuses to run as root), on a free loopback
-- port and a Unix socket in that folder, stopped by its PID.
--
--   local P = require("spec.support.postgres")
--   local pg = P.start()            -- raises with the log's tail if it does not come up
--   pg.url                          -- postgresql://app:secret@127.0.0.1:PORT/app
--   pg.socket_url                   -- the same over the Unix socket (host=DIR)
--   pg:psql("SELECT 1")             -- runs SQL as the superuser, returns psql's output
--   pg:restart()                    -- fast shutdown, then up again on the same port
--   pg:stop()                       -- SIGINT (fast shutdown; SIGKILL after 10 s), removes it
--   local pg, srv = P.start_with_app("pg.lua")  -- and lunaserve with DATABASE_URL set
--   P.stop_with_app(pg, srv)        -- both: lunaserve must exit cleanly, PostgreSQL goes anyway
--
-- The cluster is made once per machine by initdb into a template folder and copied for each
-- server (initdb takes seconds, a copy a fraction of one). The role `app` (password
-- "secret", scram-sha-256 over TCP) owns the database `app`, both made in the template too
-- (by a single-user backend, no server); the superuser `postgres` connects without a password
-- over the socket only.

local socket = require("socket")
local S = require("spec.support.server")

local P = {}

local START_TIMEOUT = 20
local STOP_TIMEOUT = 10
local USER = "postgres"
P.PASSWORD = "secret"

local function bindir()
    local p = io.popen("ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1")
    local dir = p:read("*l")
    p:close()
    if not dir or dir == "" then
        error("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin): install postgresql", 3)
    end
    return dir
end

local function sh(cmd)
    local p = io.popen(cmd .. " 2>&1")
    local out = p:read("*a")
    local ok, _, code = p:close()
    return ok, out, code
end

local tail = S.tail

-- Runs a command as the postgres user (setpriv execs: no process stays in between).
-- As root only: PostgreSQL refuses to run as root; another user runs it as itself.
local function is_root()
    local p = io.popen("id -u")
    local uid = p:read("*l")
    p:close()
    return uid == "0"
end
local ROOT = is_root()
local OWNER = ROOT and USER or (os.getenv("USER") or "")

local function as_postgres(cmd)
    if not ROOT then
        return cmd
    end
    return "setpriv --reuid=" .. USER .. " --regid=" .. USER .. " --init-groups -- " .. cmd
end

-- The template cluster, made once (a lock keeps two runs from making it together).
local function template()
    local dir = "/tmp/lunaserve-pg-template-15-app-" .. (ROOT and USER or OWNER)
    if S.read_file(dir .. "/ready") then
        return dir
    end
    local ok, out = sh(string.format([[
set -e
exec 9>%s.lock
flock -w 60 9
if [ ! -f %s/ready ]; then
  rm -rf %s %s.tmp
  mkdir -p %s.tmp
  printf '%%s\n' %s > %s.tmp/pwfile
  [ "$(id -u)" != 0 ] || chown -R %s %s.tmp
  %s >%s.tmp/initdb.log 2>&1 || { cat %s.tmp/initdb.log; exit 1; }
  printf '%%s\n' %s | %s >%s.tmp/single.log 2>&1 || { cat %s.tmp/single.log; exit 1; }
  grep -q ERROR %s.tmp/single.log && { cat %s.tmp/single.log; exit 1; }
  rm -f %s.tmp/pwfile
  mv %s.tmp %s
  touch %s/ready
fi]], dir, dir, dir, dir, dir, P.PASSWORD, dir, USER, dir,
        as_postgres(bindir() .. "/initdb -D " .. dir .. ".tmp/data -U postgres -E UTF8 --locale=C"
            .. " --auth-local=trust --auth-host=scram-sha-256 --no-sync --pwfile=" .. dir
            .. ".tmp/pwfile"),
        dir, dir,
        S.shquote("CREATE ROLE app LOGIN PASSWORD '" .. P.PASSWORD .. "';") .. " "
            .. S.shquote("CREATE DATABASE app OWNER app;"),
        as_postgres(bindir() .. "/postgres --single -D " .. dir .. ".tmp/data -c fsync=off postgres"),
        dir, dir, dir, dir,
        dir, dir, dir, dir))
    if not ok then
        error("initdb failed: " .. out, 3)
    end
    return dir
end

local Pg = {}
Pg.__index = Pg

-- psql as the superuser over the socket; returns the unaligned output, or raises.
function Pg:psql(sql, db)
    local ok, out = sh(string.format("%s/psql -X -q -A -t -v ON_ERROR_STOP=1 -h %s -p %d -U postgres -d %s -c %s",
        self.bin, S.shquote(self.dir), self.port, db or "app", S.shquote(sql)))
    if not ok then
        error("psql failed: " .. out, 2)
    end
    return (out:gsub("\n$", ""))
end

-- True while PostgreSQL answers on the socket.
function Pg:ready()
    local ok = sh(string.format("%s/pg_isready -q -h %s -p %d", self.bin, S.shquote(self.dir),
        self.port))
    return ok
end

local function launch(self)
    local cmd = as_postgres(string.format(
        "%s/postgres -D %s/data -p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off"
            .. " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
            .. " -c shared_buffers=32MB -c log_min_messages=warning",
        self.bin, self.dir, self.port, self.dir))
    os.execute(string.format("%s </dev/null >>%s/log 2>&1 & echo $! >%s/pid", cmd, self.dir,
        self.dir))
    self.pid = tonumber((S.read_file(self.dir .. "/pid") or ""):match("%d+"))
    local deadline = S.now() + START_TIMEOUT
    while S.now() < deadline do
        if not self.pid or not S.pid_alive(self.pid) then
            break
        end
        if self:ready() then
            return true
        end
        socket.sleep(0.05)
    end
    local log = S.read_file(self.dir .. "/log") or ""
    if self.pid and S.pid_alive(self.pid) then
        os.execute("kill -KILL " .. self.pid)
    end
    return nil, string.format("postgres did not start on 127.0.0.1:%d (%s):\n%s", self.port,
        cmd, tail(log, 20))
end

-- Starts a server. Raises with the reason if it does not accept connections in time.
function P.start()
    local bin = bindir()
    local tmpl = template()
    local dir = S.mktempdir()
    local ok, out = sh(string.format("cp -a %s/data %s/data%s", tmpl, dir,
        ROOT and string.format(" && chown -R %s %s", USER, dir) or ""))
    if not ok then
        error("cannot copy the template cluster: " .. out, 2)
    end
    local self = setmetatable({ dir = dir, bin = bin }, Pg)
    local err
    for _ = 1, 3 do
        self.port = S.free_port()
        local up
        up, err = launch(self)
        if up then
            break
        end
        if not err:find("already in use", 1, true) then
            break
        end
    end
    if not self:ready() then
        os.execute("rm -rf " .. S.shquote(dir))
        error(err, 2)
    end
    self.url = string.format("postgresql://app:%s@127.0.0.1:%d/app", P.PASSWORD, self.port)
    self.socket_url = string.format("host=%s port=%d dbname=app user=postgres", dir, self.port)
    return self
end

local function wait_gone(pid, timeout)
    local deadline = S.now() + timeout
    while S.now() < deadline do
        if not S.pid_alive(pid) then
            return true
        end
        socket.sleep(0.02)
    end
    return false
end

-- Fast shutdown (SIGINT): running queries end, clients are disconnected.
function Pg:shutdown()
    if self.pid and S.pid_alive(self.pid) then
        os.execute("kill -INT " .. self.pid)
        if not wait_gone(self.pid, STOP_TIMEOUT) then
            os.execute("kill -KILL " .. self.pid)
            wait_gone(self.pid, 2)
        end
    end
end

-- Stops the server and starts it again on the same port and data.
function Pg:restart()
    self:shutdown()
    local up, err = launch(self)
    if not up then
        error(err, 2)
    end
end

function Pg:stop()
    self:shutdown()
    os.execute("rm -rf " .. S.shquote(self.dir))
end

-- The server's backends that serve `app` (client connections), as psql counts them.
function Pg:connections(user)
    return tonumber(self:psql(string.format(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            .. " AND usename = '%s'", user or "app"), "postgres"))
end

-- PostgreSQL, then lunaserve running spec/apps/<app> with DATABASE_URL (and PG_SOCKET_URL)
-- in its environment.
function P.start_with_app(app, opts)
    local pg = P.start()
    opts = opts or {}
    opts.app = S.app(app)
    opts.env = opts.env or {}
    opts.env.DATABASE_URL = pg.url
    opts.env.PG_SOCKET_URL = pg.socket_url
    return pg, S.start_beside(pg, opts)
end

-- Stops what P.start_with_app started (S.stop_beside: lunaserve must exit cleanly, then
-- PostgreSQL goes anyway).
function P.stop_with_app(pg, srv)
    S.stop_beside(pg, srv)
end

return P
