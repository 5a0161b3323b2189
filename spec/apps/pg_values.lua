-- Test app for the specs of lunaserve.pg's values, errors and connecting
-- (spec/pg_values_spec.lua, pg_injection_spec.lua, pg_errors_spec.lua, pg_connect_spec.lua),
-- against the server in $DATABASE_URL.
--
-- Every Lua value goes out as one exact string that names its type, so that a spec can tell
-- an integer from a float, NULL from a missing column, and see every byte:
--   pg.null -> "null", nil -> "nil", true -> "bool:true", 7 -> "int:7",
--   0.5 -> "float:0.5" (the shortest form that reads back the same; "float:nan", "float:inf"),
--   text -> "str:..." (bytes that are not printable UTF-8 -> "bytes:" and hex),
--   a table -> "{" its sequence, then its other keys sorted as k=v, comma-separated "}".
-- Values never travel as JSON numbers (lua-cjson writes 14 significant digits).
local cjson = require("cjson")
local lunaserve = require("lunaserve")
local pg = require("lunaserve.pg")
local testkit = require("testkit")

local URL = assert(os.getenv("DATABASE_URL"), "DATABASE_URL is not set")

-- One connection: the specs that check a connection's reuse see it by its backend's pid.
local pool = pg.pool{ url = URL, size = 1, wait_timeout = 5, query_timeout = 5 }

local function float_text(v)
    if v ~= v then
        return "nan"
    elseif v == math.huge then
        return "inf"
    elseif v == -math.huge then
        return "-inf"
    end
    for digits = 1, 17 do
        local s = string.format("%." .. digits .. "g", v)
        if tonumber(s) == v then
            return s
        end
    end
    return string.format("%.17g", v)
end

local function hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local show

local function show_table(t)
    local parts, n = {}, #t
    for i = 1, n do
        parts[#parts + 1] = show(t[i])
    end
    local keys = {}
    for k in pairs(t) do
        if not (math.type(k) == "integer" and k >= 1 and k <= n) then
            keys[#keys + 1] = k
        end
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
        parts[#parts + 1] = tostring(k) .. "=" .. show(t[k])
    end
    return "{" .. table.concat(parts, ",") .. "}"
end

function show(v)
    if v == pg.null then
        return "null"
    elseif v == nil then
        return "nil"
    end
    local t = math.type(v) or type(v)
    if t == "boolean" then
        return "bool:" .. tostring(v)
    elseif t == "integer" then
        return "int:" .. string.format("%d", v)
    elseif t == "float" then
        return "float:" .. float_text(v)
    elseif t == "string" then
        if utf8.len(v) and not v:find("[%z\1-\31\127]") then
            return "str:" .. v
        end
        return "bytes:" .. hex(v)
    elseif t == "table" then
        return show_table(v)
    end
    return t
end

local function send(res, body)
    res.statusCode = 200
    res:setHeader("Content-Type", "application/json")
    res:finish(cjson.encode(body))
end

-- A query's outcome: {rows = [{col = shown}], columns, affected, command, n} or
-- {first = "nil", err, sqlstate}.
local function outcome(r, err, sqlstate)
    if not r then
        return { first = show(r), err = tostring(err), sqlstate = sqlstate or cjson.null }
    end
    local rows = {}
    for i, row in ipairs(r) do
        local out = {}
        for k, v in pairs(row) do
            out[k] = show(v)
        end
        rows[i] = out
    end
    return { rows = rows, n = #r, columns = r.columns, affected = show(r.affected),
        command = r.command }
end

-- The Lua values a request names: "params" is Lua source for a list of expressions (as in
-- "1, nil, pg.null, {a = 1}"), evaluated with pg, math, utf8 and all_bytes() (the 256 byte
-- values in order) in scope.
local function all_bytes()
    local b = {}
    for i = 0, 255 do
        b[#b + 1] = string.char(i)
    end
    return table.concat(b)
end

local ENV = { pg = pg, math = math, utf8 = utf8, string = string, all_bytes = all_bytes }

local function values(src)
    if not src or src == "" then
        return { n = 0 }
    end
    local f = assert(load("return " .. src, "=params", "t", ENV))
    return table.pack(f())
end

local function body_json(req)
    local body = req:body()
    return cjson.decode(body ~= "" and body or "{}")
end

return testkit.router({
    -- POST /query {"sql": "...", "params": "lua list"}: one query on the pool's connection;
    -- also says which backend served it ("pid"), and what the query raised ("raised").
    ["/query"] = function(req, res)
        local q = body_json(req)
        local p = values(q.params)
        local db, err = pool:acquire()
        if not db then
            return send(res, { acquire_err = tostring(err) })
        end
        local ok, r, qerr, state = pcall(db.query, db, q.sql, table.unpack(p, 1, p.n))
        local out = ok and outcome(r, qerr, state) or { raised = tostring(r) }
        out.pid = db:backend_pid()
        db:release()
        send(res, out)
    end,

    -- POST /exec {"sql": "..."}: a script (several statements, no parameters)
    ["/exec"] = function(req, res)
        local q = body_json(req)
        local db, err = pool:acquire()
        if not db then
            return send(res, { acquire_err = tostring(err) })
        end
        local out = outcome(db:exec(q.sql))
        out.pid = db:backend_pid()
        db:release()
        send(res, out)
    end,

    -- POST /connect {"conninfo": "...", "env": "VAR", "lua": "...", "opts": {...},
    -- "sql": "..."}: pg.connect to conninfo, or to the environment variable's value, or to
    -- what the Lua expression gives (a table, with numbers as Lua numbers); then the query
    -- (default: who and from where), then close. "took": the connect's seconds on the
    -- server's clock; "raised": what pg.connect raised.
    ["/connect"] = function(req, res)
        local q = body_json(req)
        local conninfo = q.conninfo
        if q.env then
            conninfo = assert(os.getenv(q.env), q.env .. " is not set")
        elseif q.lua then
            conninfo = values(q.lua)[1]
        end
        lunaserve.update_time()
        local started = lunaserve.now()
        local ok, db, err = pcall(pg.connect, conninfo, q.opts)
        lunaserve.update_time()
        local took = lunaserve.now() - started
        if not ok then
            return send(res, { raised = tostring(db) })
        end
        if not db then
            return send(res, { first = show(db), err = tostring(err), took = took })
        end
        local out = outcome(db:query(q.sql or
            "SELECT current_user AS who, host(inet_client_addr()) AS addr"))
        out.took = took
        db:close()
        send(res, out)
    end,

    -- POST /pool {"conninfo": "...", "lua": "...", "opts": {...}}: a pool of its own
    -- (pg.pool(conninfo, opts), or pg.pool(conninfo) without opts; conninfo as for /connect),
    -- one query, then closed.
    ["/pool"] = function(req, res)
        local q = body_json(req)
        local conninfo = q.lua and values(q.lua)[1] or q.conninfo
        local p = q.opts and pg.pool(conninfo, q.opts) or pg.pool(conninfo)
        local out = outcome(p:query(q.sql or
            "SELECT current_user AS who, host(inet_client_addr()) AS addr"))
        p:close()
        send(res, out)
    end,

    -- GET /open: connections open in this process
    ["/open"] = function(req, res)
        collectgarbage()
        res:finish(tostring(require("lunaserve.pg_core").open_connections()))
    end,
})
