-- Test app for the PostgreSQL specs of pools, transactions, timeouts, failures, notifications
-- and ownership (spec/pg_*_spec.lua), against the server in $DATABASE_URL.
--
-- Three pools: "main" (size 10), "one" (size 1, a line of one caller, who waits at most 1 s)
-- and "quick" (a query timeout of 0.3 s). Every route answers JSON; a failure of lunaserve.pg
-- comes as {"ok": false, "err": "...", "sqlstate": "..."} next to what the route measured.
-- Times are in seconds.
local cjson = require("cjson")
local lunaserve = require("lunaserve")
local pg = require("lunaserve.pg")
local core = require("lunaserve.pg_core")
local testkit = require("testkit")

local URL = assert(os.getenv("DATABASE_URL"), "DATABASE_URL is not set")

local pools = {
    main = pg.pool{ url = URL, size = 10, wait_timeout = 10, query_timeout = 10 },
    one = pg.pool{ url = URL, size = 1, backlog = 1, wait_timeout = 1, query_timeout = 10 },
    quick = pg.pool{ url = URL, size = 2, query_timeout = 0.3 },
}

-- Which code answers: a reload gives a new one.
local LOAD_ID = string.format("%d-%d", math.floor(lunaserve.now() * 1000), math.random(1, 1e9))

-- Channels that a /listen handler listens on now.
local listening = {}

local function send(res, body, status)
    res.statusCode = status or 200
    res:setHeader("Content-Type", "application/json")
    res:finish(cjson.encode(body))
end

local function arg(req, name, default)
    local v = testkit.param(req, name)
    if v == nil then
        return default
    end
    return (v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function num(req, name, default)
    return tonumber(arg(req, name, "") or "") or default
end

local function pool_of(req)
    return assert(pools[arg(req, "pool", "main")], "no such pool")
end

-- The outcome of a call: ok, or err and sqlstate, into t.
local function outcome(t, prefix, r, err, state)
    t[prefix .. "ok"] = r ~= nil and r ~= false
    t[prefix .. "err"] = err and tostring(err) or cjson.null
    t[prefix .. "sqlstate"] = state or cjson.null
    return t
end

-- The backend's pid.
local WHO = "SELECT pg_backend_pid() AS pid"

return testkit.router({
    -- GET /load_id
    ["/load_id"] = function(req, res)
        send(res, { load_id = LOAD_ID })
    end,

    -- GET /stats?pool=P: the pool's counts, the process' open connections, the Lua heap
    ["/stats"] = function(req, res)
        local s = pool_of(req):stats()
        collectgarbage()
        collectgarbage()
        s.open = core.open_connections()
        s.lua_kb = collectgarbage("count")
        s.load_id = LOAD_ID
        send(res, s)
    end,

    -- GET /who?pool=P: a connection of the pool says who it is (then goes back)
    ["/who"] = function(req, res)
        local db, err = pool_of(req):acquire()
        if not db then
            return send(res, { ok = false, err = err })
        end
        local status = db:status()
        local r, qerr, state = db:query(WHO)
        db:release()
        local t = outcome({ status = status }, "", r, qerr, state)
        if r then
            t.pid = r[1].pid
        end
        send(res, t)
    end,

    -- GET /begin?pool=P&release=0|1[&timeout=T]: BEGIN (then, with a timeout, a pg_sleep(5)
    -- that outlives it), then the handler ends without COMMIT (releasing the connection
    -- first, or forgetting it)
    ["/begin"] = function(req, res)
        local db, err = pool_of(req):acquire()
        if not db then
            return send(res, { ok = false, err = err })
        end
        local r, qerr, state = db:query("BEGIN")
        local t = outcome({ pid = db:backend_pid(), status = db:status() }, "", r, qerr, state)
        local timeout = num(req, "timeout")
        if timeout then
            db:settimeout(timeout)
            local _, serr = db:query("SELECT pg_sleep(5)")
            t.sleep_err = serr or cjson.null
        end
        if arg(req, "release") == "1" then
            t.released = db:release()
        end
        send(res, t)
    end,

    -- GET /listen_release?pool=P: LISTEN on a pooled connection, then release it
    ["/listen_release"] = function(req, res)
        local db, err = pool_of(req):acquire()
        if not db then
            return send(res, { ok = false, err = err })
        end
        local r, lerr, state = db:listen("lunaserve_spec")
        local t = outcome({ pid = db:backend_pid(), status = db:status() }, "", r, lerr, state)
        t.released = db:release()
        send(res, t)
    end,

    -- GET /spin?tx=0|1: takes a connection of `main` (inside a transaction with tx=1), then
    -- spins until the handler budget stops it
    ["/spin"] = function(req, res)
        local db = assert(pools.main:acquire())
        if testkit.param(req, "tx") == "1" then
            assert(db:query("BEGIN"))
        end
        assert(db:query("SELECT 1"))
        while true do end
    end,

    -- GET /forget?pool=P: a query, then the handler ends without db:release()
    ["/forget"] = function(req, res)
        local db, err = pool_of(req):acquire()
        if not db then
            return send(res, { ok = false, err = err })
        end
        local r, qerr, state = db:query("SELECT 1 AS one")
        local t = outcome({ pid = db:backend_pid() }, "", r, qerr, state)
        t.stats = pool_of(req):stats()
        send(res, t)
    end,

    -- GET /sleep?pool=P&s=S[&timeout=T][&after=1]: pg_sleep(S) on a pooled connection (with a
    -- query timeout of T), then, with after=1, the backend's pid on the same connection
    ["/sleep"] = function(req, res)
        local pool = pool_of(req)
        local t0 = lunaserve.now()
        local db, err = pool:acquire()
        if not db then
            return send(res, { ok = false, err = err, took = lunaserve.now() - t0 })
        end
        local timeout = num(req, "timeout")
        if timeout then
            db:settimeout(timeout)
        end
        local t = { pid = db:backend_pid() }
        local started = lunaserve.now()
        outcome(t, "", db:query("SELECT pg_sleep($1)", num(req, "s", 1)))
        t.took = lunaserve.now() - started
        if arg(req, "after") == "1" then
            db:settimeout(10)
            started = lunaserve.now()
            local r, aerr, astate = db:query(WHO)
            t.after_took = lunaserve.now() - started
            outcome(t, "after_", r, aerr, astate)
            t.after_pid = r and r[1].pid or cjson.null
        end
        t.status = db:status()
        db:release()
        send(res, t)
    end,

    -- GET /pool_query?pool=P&sql=SQL: pool:query, timed
    ["/pool_query"] = function(req, res)
        local t0 = lunaserve.now()
        local r, err, state = pool_of(req):query(arg(req, "sql"))
        local t = outcome({ took = lunaserve.now() - t0 }, "", r, err, state)
        t.rows = r or cjson.null
        send(res, t)
    end,

    -- GET /acquire?pool=P: how a pool:acquire() ends, and when (the connection goes back)
    ["/acquire"] = function(req, res)
        local t0 = lunaserve.now()
        local db, err = pool_of(req):acquire()
        local t = { ok = db ~= nil, err = err or cjson.null, took = lunaserve.now() - t0 }
        if db then
            db:release()
        end
        send(res, t)
    end,

    -- GET /tx?via=pool|db&mode=commit|raise|statement|assert&name=N: inserts N in a
    -- transaction (pool:transaction, or db:transaction on an acquired connection), which then
    -- commits, raises, runs a failing statement and goes on, or raises that statement's error
    ["/tx"] = function(req, res)
        local mode, name = arg(req, "mode", "commit"), arg(req, "name")
        local function body(db, n)
            local ok, err = db:query("INSERT INTO items(name) VALUES ($1)", n)
            if not ok then
                error("insert failed: " .. tostring(err))
            end
            if mode == "raise" then
                error({ code = "boom" }) -- a table: what fn raised comes back as it is
            elseif mode == "statement" then
                db:query("SELECT * FROM no_such_table")
            elseif mode == "assert" then
                assert(db:query("SELECT * FROM no_such_table"))
            elseif mode == "deferred" then
                -- a deferred constraint: the COMMIT fails
                assert(db:query("INSERT INTO tags(name) VALUES ($1), ($1)", n))
            end
            return "done", n
        end
        local t = {}
        local r1, r2, r3
        if arg(req, "via") == "db" then
            local db, err = pools.main:acquire()
            if not db then
                return send(res, { ok = false, err = err })
            end
            r1, r2, r3 = db:transaction(body, name)
            t.status = db:status()
            t.pid = db:backend_pid()
            db:release()
        else
            r1, r2, r3 = pools.main:transaction(body, name)
        end
        t.r1 = r1 == nil and cjson.null or r1
        t.r2 = r2 == nil and cjson.null or (type(r2) == "table" and r2 or tostring(r2))
        t.r3 = r3 == nil and cjson.null or r3
        t.stats = pools.main:stats()
        send(res, t)
    end,

    -- GET /work?i=N: one query of the load test: 2N, and the connections of this role that the
    -- server sees while it runs
    ["/work"] = function(req, res)
        local i = math.tointeger(num(req, "i"))
        local r, err, state = pools.main:query(
            "SELECT $1::int8 * 2 AS v, (SELECT count(*) FROM pg_stat_activity"
                .. " WHERE usename = current_user AND backend_type = 'client backend') AS seen,"
                .. " pg_sleep(0.01)::text AS slept", i)
        if not r then
            return send(res, { err = err, sqlstate = state or cjson.null }, 500)
        end
        send(res, { v = r[1].v, seen = r[1].seen })
    end,

    -- GET /user?id=N: a single-row query through the pool, as text "id name"
    ["/user"] = function(req, res)
        local id = math.tointeger(num(req, "id"))
        local r, err = pools.main:query("SELECT $1::int4 AS id, 'user' || $1 AS name", id)
        if not r then
            res.statusCode = 500
            return res:finish(tostring(err))
        end
        res:finish(r[1].id .. " " .. r[1].name)
    end,

    -- GET /listen?channel=C&timeout=T&count=K&via=pool|own: LISTEN on C, then wait for K
    -- notifications (each within T seconds)
    ["/listen"] = function(req, res)
        local channel = arg(req, "channel")
        local db, err
        if arg(req, "via") == "own" then
            db, err = pg.connect(URL)
        else
            db, err = pools.main:acquire()
        end
        if not db then
            return send(res, { ok = false, err = err })
        end
        local ok, lerr, state = db:listen(channel)
        if not ok then
            return send(res, { ok = false, err = lerr, sqlstate = state or cjson.null })
        end
        local t = { pid = db:backend_pid(), notes = {} }
        listening[channel] = true
        local t0 = lunaserve.now()
        for _ = 1, num(req, "count", 1) do
            local note, nerr = db:wait_for_notification(num(req, "timeout", 5))
            if not note then
                t.err = nerr
                break
            end
            t.notes[#t.notes + 1] = note
        end
        t.took = lunaserve.now() - t0
        listening[channel] = nil
        db:release()
        send(res, t)
    end,

    -- GET /listening?channel=C: "yes" once a /listen handler waits on C
    ["/listening"] = function(req, res)
        res:finish(listening[arg(req, "channel")] and "yes" or "no")
    end,

    -- GET /notify?channel=C&payload=P: pool:notify
    ["/notify"] = function(req, res)
        send(res, outcome({}, "", pools.main:notify(arg(req, "channel"), arg(req, "payload"))))
    end,
})
