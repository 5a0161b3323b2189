-- Test app for the PostgreSQL specs: lunaserve.pg against the server in $DATABASE_URL.
--
-- Results go out as JSON. Each value of a row is tagged with its Lua type, so a spec can
-- tell an integer from a float and NULL from a missing column:
--   {"rows": [{"col": {"t": "integer", "v": 1}}, ...], "columns": [...], "affected": n,
--    "command": "..."}
-- and a failure as {"err": "...", "sqlstate": "..."}.
local cjson = require("cjson")
local lunaserve = require("lunaserve")
local pg = require("lunaserve.pg")
local testkit = require("testkit")

local URL = assert(os.getenv("DATABASE_URL"), "DATABASE_URL is not set")
local POOL_SIZE = tonumber(os.getenv("PG_POOL_SIZE") or "") or 10

local pool = pg.pool{ url = URL, size = POOL_SIZE, wait_timeout = 20, query_timeout = 10 }

local function tag(v)
    if v == pg.null then
        return { t = "null" }
    end
    local t = math.type(v) or type(v)
    if t == "string" then
        -- bytes that are not text go as hex
        if not utf8.len(v) or v:find("%z") then
            return { t = "bytes", hex = (v:gsub(".", function(c) return string.format("%02x", c:byte()) end)) }
        end
    end
    if t == "float" and (v ~= v or v == math.huge or v == -math.huge) then
        return { t = "float", s = tostring(v) }
    end
    return { t = t, v = v }
end

local function encode_result(res, err, sqlstate)
    if not res then
        return { err = tostring(err), sqlstate = sqlstate or cjson.null }
    end
    local rows = {}
    for i, row in ipairs(res) do
        local out = {}
        for k, v in pairs(row) do
            out[k] = tag(v)
        end
        rows[i] = out
    end
    return { rows = rows, columns = res.columns, affected = res.affected or cjson.null,
        command = res.command, n = #res }
end

local function send(res, status, body)
    res.statusCode = status
    res:setHeader("Content-Type", "application/json")
    res:finish(cjson.encode(body))
end

-- A parameter value in the request body's "params": {"null": true} is pg.null, {"bytea":
-- "hex"} a bytea, {"json": ...} a table sent as JSON, {"int": "n"} an integer, anything
-- else as it is.
local function param(p)
    if type(p) == "table" then
        if p.null then return pg.null end
        if p.bytea then return pg.bytea((p.bytea:gsub("..", function(h) return string.char(tonumber(h, 16)) end))) end
        if p.json then return p.json end
        if p.int then return math.tointeger(tonumber(p.int)) end
        if p.float then return tonumber(p.float) + 0.0 end
    end
    return p
end

local function body_json(req)
    local body = req:body()
    return cjson.decode(body ~= "" and body or "{}")
end

return testkit.router({
    -- POST /query {"sql": "...", "params": [...]}: one query on a pooled connection
    ["/query"] = function(req, res)
        local q = body_json(req)
        local params = {}
        local n = 0
        for i, p in ipairs(q.params or {}) do
            params[i] = param(p)
            n = i
        end
        local r, err, state = pool:query(q.sql, table.unpack(params, 1, n))
        send(res, 200, encode_result(r, err, state))
    end,

    -- POST /exec {"sql": "..."}: a script of statements
    ["/exec"] = function(req, res)
        local q = body_json(req)
        local db, err = pool:acquire()
        if not db then
            return send(res, 200, { err = err })
        end
        local r, e, s = db:exec(q.sql)
        db:release()
        send(res, 200, encode_result(r, e, s))
    end,

    -- GET /user?id=N: the single-row lookup of the benchmark
    ["/user"] = function(req, res)
        local id = math.tointeger(tonumber(testkit.param(req, "id") or ""))
        local r, err = pool:query("SELECT id, name, email FROM users WHERE id = $1", id)
        if not r then
            return send(res, 500, { err = err })
        end
        send(res, r[1] and 200 or 404, r[1] or { err = "not found" })
    end,

    -- POST /tx {"name": "...", "fail": "raise"|"statement"|nil}: inserts the name inside a
    -- transaction, then fails as asked
    ["/tx"] = function(req, res)
        local q = body_json(req)
        local r, err, state = pool:transaction(function(db)
            assert(db:query("INSERT INTO items(name) VALUES ($1)", q.name))
            if q.fail == "raise" then
                error("boom")
            elseif q.fail == "statement" then
                db:query("SELECT * FROM no_such_table")
            end
            return "committed"
        end)
        send(res, 200, { result = r or cjson.null, err = err and tostring(err) or cjson.null,
            sqlstate = state or cjson.null })
    end,

    -- GET /sleep?s=S&timeout=T: pg_sleep(S) with a query timeout of T seconds, then
    -- (same connection) SELECT 1
    ["/sleep"] = function(req, res)
        local s = tonumber(testkit.param(req, "s"))
        local t = tonumber(testkit.param(req, "timeout"))
        local db, err = pool:acquire()
        if not db then
            return send(res, 200, { err = err })
        end
        db:settimeout(t)
        local started = lunaserve.now()
        local r, e = db:query("SELECT pg_sleep($1)", s)
        local took = lunaserve.now() - started
        db:settimeout(10)
        local after, aerr = db:query("SELECT 1 AS one")
        local pid = db:backend_pid()
        db:release()
        send(res, 200, { ok = r and true or false, err = e or cjson.null, took = took,
            after = after and after[1].one or cjson.null, after_err = aerr or cjson.null,
            pid = pid or cjson.null })
    end,

    -- GET /connect?url=...: a connection of its own to the URL given, then SELECT 1
    ["/connect"] = function(req, res)
        local url = testkit.param(req, "url")
        url = url and url:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end) or URL
        local db, err = pg.connect(url, { connect_timeout = 5 })
        if not db then
            return send(res, 200, { err = err })
        end
        local r, e, s = db:query("SELECT 1 AS one")
        db:close()
        send(res, 200, encode_result(r, e, s))
    end,

    -- GET /listen?channel=C&timeout=T: LISTEN, then wait for one notification
    ["/listen"] = function(req, res)
        local channel = testkit.param(req, "channel")
        local t = tonumber(testkit.param(req, "timeout") or "5")
        local db, err = pg.connect(URL)
        if not db then
            return send(res, 200, { err = err })
        end
        local ok, lerr = db:listen(channel)
        if not ok then
            return send(res, 200, { err = lerr })
        end
        res:setHeader("X-Listening", "1")
        local note, nerr = db:wait_for_notification(t)
        db:close()
        if not note then
            return send(res, 200, { err = nerr })
        end
        send(res, 200, note)
    end,

    -- GET /notify?channel=C&payload=P
    ["/notify"] = function(req, res)
        local r, err = pool:notify(testkit.param(req, "channel"), testkit.param(req, "payload"))
        send(res, 200, { ok = r and true or false, err = err or cjson.null })
    end,

    -- GET /stats: the pool and the process
    ["/stats"] = function(req, res)
        local s = pool:stats()
        collectgarbage()
        collectgarbage()
        s.open = require("lunaserve.pg_core").open_connections()
        s.lua_kb = math.floor(collectgarbage("count"))
        send(res, 200, s)
    end,
})
