-- Test support for the apps/todo specs: the app beside a real PostgreSQL, and a request to it
-- on a connection of its own.
--
--   local T = require("spec.support.todo")
--   local pg, srv = T.start()          -- PostgreSQL, then lunaserve on apps/todo using it
--   T.call(srv, "POST", "/todos", T.JSON, '{"title":"milk"}')
--   T.stop(pg, srv)                    -- lunaserve must exit cleanly; PostgreSQL goes anyway
local S = require("spec.support.server")
local P = require("spec.support.postgres")

local T = {}

T.APP = S.root .. "/apps/todo"

-- The headers of a JSON body (one table for all: add nothing to it; see json_headers).
T.JSON = { ["Content-Type"] = "application/json" }

-- T.JSON and `extra` in a new table.
function T.json_headers(extra)
    local h = { ["Content-Type"] = "application/json" }
    for k, v in pairs(extra or {}) do h[k] = v end
    return h
end

-- One request on a new connection (srv: anything with :connect()); its response, read within
-- `timeout` seconds (5 by default). An answer to HEAD is read as one: no body.
function T.call(srv, method, target, headers, body, timeout)
    local c = srv:connect()
    assert(c:send(S.request(method, target, headers, body)))
    local r = assert(c:read_response({ timeout = timeout or 5, head = method == "HEAD" }))
    c:close()
    return r
end

-- lunaserve on apps/todo beside the PostgreSQL `pg` (S.start_beside: pg is stopped if the
-- server does not start), DATABASE_URL pointing at it; opts as S.start's, app and env.DATABASE_URL
-- filled in.
function T.start_on(pg, opts)
    opts = opts or {}
    opts.app = T.APP
    opts.env = opts.env or {}
    opts.env.DATABASE_URL = pg.url
    return S.start_beside(pg, opts)
end

-- A new PostgreSQL and apps/todo on it: pg, srv.
function T.start()
    local pg = P.start()
    return pg, T.start_on(pg)
end

-- Stops what T.start started (S.stop_beside).
T.stop = S.stop_beside

return T
