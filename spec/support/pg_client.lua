-- Test support for the PostgreSQL specs that use spec/apps/pg_pool.lua: requests whose
-- answers are JSON, sent now and read later, and what PostgreSQL itself sees of the app.
--
--   local J = require("spec.support.pg_client")
--   local body = J.get(srv, "/who")                  -- asserts 200, returns the decoded body
--   local req = J.start(srv, "/sleep?s=1")           -- sent; the handler runs meanwhile
--   local body, seconds = req:finish(3)              -- its answer, and how long it took
--   J.backend_alive(pg, pid)                         -- is that backend still connected?
local cjson = require("cjson")
local S = require("spec.support.server")
local assert = require("luassert")

local J = {}

local Pending = {}
Pending.__index = Pending

-- Sends GET `target` on a fresh connection and returns at once.
function J.start(srv, target)
    local c = srv:connect()
    local t0 = S.now()
    assert(c:send(S.get(target)))
    return setmetatable({ conn = c, target = target, t0 = t0 }, Pending)
end

-- The answer (200, JSON), read within `timeout` seconds, and the seconds since it was sent.
function Pending:finish(timeout)
    local res, err = self.conn:read_response({ timeout = timeout or 5 })
    local took = S.now() - self.t0
    self.conn:close()
    assert.is_truthy(res, "GET " .. self.target .. ": no answer: " .. tostring(err))
    assert.are.equal(200, res.status, "GET " .. self.target .. ": " .. res.body)
    local ok, body = pcall(cjson.decode, res.body)
    assert.is_true(ok, "GET " .. self.target .. ": not JSON: " .. res.body)
    return body, took
end

-- The client leaves before the answer.
function Pending:abandon()
    self.conn:close()
end

-- GET `target`: its JSON answer (asserts 200) and the seconds it took.
function J.get(srv, target, timeout)
    return J.start(srv, target):finish(timeout)
end

-- A query parameter, percent-encoded.
function J.enc(s)
    return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- Whether the backend with this pid is connected to PostgreSQL now.
function J.backend_alive(pg, pid)
    return pg:psql("SELECT count(*) FROM pg_stat_activity WHERE pid = " .. math.tointeger(pid),
        "postgres") == "1"
end

-- The backend's state as PostgreSQL sees it ("idle", "idle in transaction", "active"), or nil
-- when it is gone.
function J.backend_state(pg, pid)
    local s = pg:psql("SELECT state FROM pg_stat_activity WHERE pid = " .. math.tointeger(pid),
        "postgres")
    return s ~= "" and s or nil
end

-- Waits (bounded) until the backend is gone; true, or false if it is still there.
function J.wait_backend_gone(pg, pid, timeout)
    return S.wait_for(function() return not J.backend_alive(pg, pid) end, timeout or 2, 0.05)
        and true or false
end

-- The app's backends running pg_sleep now.
function J.sleeping(pg)
    return tonumber(pg:psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'"
        .. " AND state = 'active' AND query LIKE '%pg_sleep%'", "postgres"))
end

-- Waits (bounded) until f(stats of the pool) is true; returns the last stats seen and
-- whether it came true.
function J.wait_stats(srv, pool, f, timeout)
    local last
    local ok = S.wait_for(function()
        last = J.get(srv, "/stats?pool=" .. pool)
        return f(last)
    end, timeout or 2, 0.02)
    return last, ok and true or false
end

-- Stops lunaserve, which must exit cleanly (status 0, no sanitizer report), then PostgreSQL
-- whatever happened.
J.stop = S.stop_beside

-- A stats table as text, for failure messages.
function J.show(t)
    return cjson.encode(t)
end

return J
