-- lunaserve.pg: PostgreSQL from handlers, without blocking the worker.
--
--   local pg = require("lunaserve.pg")
--   local pool = pg.pool{url = os.getenv("DATABASE_URL"), size = 10}
--   local res, err, sqlstate = pool:query("SELECT id, name FROM users WHERE id = $1", id)
--
-- Parameters travel apart from the SQL text ($1 ... $n): nothing is ever interpolated.
-- Errors are returned as nil, message, sqlstate. The connections and pools themselves are
-- in C (lunaserve.pg_core, lua/pg.c); this file adds the calls made of several queries.
local core = require("lunaserve.pg_core")

local pg = {}

-- SQL NULL in results and parameters: the NULL light userdata, which is also cjson.null and
-- lunaserve.null.
pg.null = require("lunaserve").null

local Db = core.db_methods
local Pool = core.pool_methods

-- Wraps a string to be sent as bytea (binary, any bytes).
function pg.bytea(s)
  if type(s) ~= "string" then
    error("pg.bytea: a string is needed, got " .. type(s), 2)
  end
  return setmetatable({s}, core.bytea_mt)
end

-- pg.connect(conninfo[, opts]): a connection of its own. conninfo is a URL
-- ("postgresql://user:pass@host:port/db"), a keyword string ("host=... dbname=..."), or a
-- table of libpq's keywords. opts: connect_timeout, query_timeout (seconds).
function pg.connect(conninfo, opts)
  if type(conninfo) ~= "string" and type(conninfo) ~= "table" then
    error("pg.connect: conninfo must be a string or a table", 2)
  end
  local db = core.db()
  local ok, err = db:connect(conninfo, opts)
  if not ok then
    return nil, err
  end
  return db
end

local POOL_OPTIONS = {
  size = true, max = true, backlog = true, wait_timeout = true, idle_timeout = true,
  connect_timeout = true, query_timeout = true, url = true, conninfo = true,
}

-- pg.pool{url = ..., size = 10, ...} or pg.pool(conninfo, opts): a bounded pool of this
-- worker's connections. Options: size (live connections at most, 10), backlog (callers
-- waiting in line at most, 1024), wait_timeout (a wait in line, 10 s), idle_timeout (an
-- idle connection's time in the pool, 60 s), connect_timeout, query_timeout.
function pg.pool(conninfo, opts)
  if type(conninfo) == "table" and opts == nil and (conninfo.url or conninfo.conninfo) then
    opts = conninfo
    conninfo = opts.url or opts.conninfo
  elseif type(conninfo) == "table" and opts == nil then
    -- one table of libpq keywords and pool options together
    local params, o = {}, {}
    for k, v in pairs(conninfo) do
      if POOL_OPTIONS[k] then o[k] = v else params[k] = v end
    end
    conninfo, opts = params, o
  end
  if type(conninfo) ~= "string" and type(conninfo) ~= "table" then
    error("pg.pool: a conninfo string or table is needed", 2)
  end
  opts = opts or {}
  if opts.max and not opts.size then -- (node-postgres' name for it)
    local o = {}
    for k, v in pairs(opts) do o[k] = v end
    o.size = opts.max
    opts = o
  end
  return core.pool(conninfo, opts)
end

-- pool:acquire(): a connection of the pool, until db:release() (or the handler's end).
function Pool:acquire()
  local db = core.db()
  local ok, err = db:acquire(self)
  if not ok then
    return nil, err
  end
  return db
end

-- A released handle per pool, which pool:query takes again (a handle is only reused here,
-- where nothing else can hold it).
local spares = setmetatable({}, { __mode = "k" })

-- pool:query(sql, ...): one query on a connection of the pool.
function Pool:query(sql, ...)
  local db = spares[self] or core.db()
  spares[self] = nil
  local ok, err = db:acquire(self)
  if not ok then
    spares[self] = db
    return nil, err
  end
  local res, qerr, state = db:query(sql, ...)
  db:release()
  spares[self] = db
  return res, qerr, state
end

-- db:transaction(fn, ...): BEGIN, fn(db, ...), then COMMIT; ROLLBACK when fn raises an
-- error or a statement in it failed. Returns what fn returned, or nil and the error: what
-- fn raised; COMMIT's message and sqlstate when it failed; or, when a statement failed and
-- fn went on, "the transaction was rolled back: a statement in it failed" and 25P02.
function Db:transaction(fn, ...)
  local ok, err, state = self:query("BEGIN")
  if not ok then
    return nil, err, state
  end
  local r = table.pack(pcall(fn, self, ...))
  if not r[1] then
    local status = self:status()
    if status == "transaction" or status == "failed transaction" then
      self:query("ROLLBACK")
    end
    return nil, r[2]
  end
  local res, cerr, cstate = self:query("COMMIT")
  if not res then
    return nil, cerr, cstate
  end
  if res.command == "ROLLBACK" then
    -- a statement failed inside and fn went on: the server rolled back
    return nil, "the transaction was rolled back: a statement in it failed", "25P02"
  end
  return table.unpack(r, 2, r.n)
end

-- pool:transaction(fn, ...): db:transaction on a connection of the pool.
function Pool:transaction(fn, ...)
  local db, err = self:acquire()
  if not db then
    return nil, err
  end
  local r = table.pack(db:transaction(fn, ...))
  db:release()
  return table.unpack(r, 1, r.n)
end

-- db:listen(channel): LISTEN on a channel (any name; quoted here). A connection that listens
-- is not put back into a pool: release closes it.
function Db:listen(channel)
  local name, err = self:escape_identifier(channel)
  if not name then
    return nil, err
  end
  return self:query("LISTEN " .. name)
end

function Db:unlisten(channel)
  local name, err = self:escape_identifier(channel)
  if not name then
    return nil, err
  end
  return self:query("UNLISTEN " .. name)
end

-- db:notify(channel, payload): NOTIFY through pg_notify, with both as parameters.
function Db:notify(channel, payload)
  return self:query("SELECT pg_notify($1, $2)", channel, payload or "")
end

-- pool:notify(channel, payload)
function Pool:notify(channel, payload)
  return self:query("SELECT pg_notify($1, $2)", channel, payload or "")
end

return pg
