-- apps/todo (README, "Bundled apps"): the schema's numbered steps are applied as the app
-- loads and recorded in schema_migrations, once: two servers that load at the same moment
-- (both held at the advisory lock, then let go together) apply each step once between them;
-- so do two workers; a reload (both workers at once) and a new server apply nothing again
-- and keep the data; a database made by an older version of the app gets only the steps it
-- lacks.
local S = require("spec.support.server")
local P = require("spec.support.postgres")
local T = require("spec.support.todo")
local cjson = require("cjson")

local APP, JSON, call = T.APP, T.JSON, T.call
local LOCK = "SELECT pg_advisory_lock(hashtext('lunaserve apps/todo migrations'))"
local STEPS = "1|create the todos table\n2|a version and an update time for each todo (ETags)"
local APPLIED_1 = "todo: applied migration 1 (create the todos table)\n"
local APPLIED_2 = "todo: applied migration 2 (a version and an update time for each todo (ETags))\n"

-- lunaserve on apps/todo started in the background without waiting for it (S.start waits
-- for the listening line, which a load held at the lock does not print yet): its folder.
local function launch(pg)
    local dir = S.mktempdir()
    local cmd = string.format("env DATABASE_URL=%s %s --host 127.0.0.1 --port 0 %s"
        .. " </dev/null >%s/out 2>%s/err & echo $! >%s/pid; wait $!; echo $? >%s/status",
        S.shquote(pg.url), S.shquote(S.bin()), S.shquote(APP), dir, dir, dir, dir)
    os.execute("sh -c " .. S.shquote(cmd) .. " </dev/null >/dev/null 2>&1 &")
    return dir
end

-- Its port once it listens (bounded), or raises with its stderr.
local function port_of(dir)
    local port = S.wait_for(function()
        return (S.read_file(dir .. "/out") or ""):match("listening on http://127%.0%.0%.1:(%d+)/")
    end, 10, 0.02)
    assert(port, "no listening line; stderr:\n" .. (S.read_file(dir .. "/err") or ""))
    return tonumber(port)
end

-- SIGTERM, then its exit status (bounded; SIGKILL after 10 s), and its stderr.
local function stop(dir)
    local pid = tonumber((S.read_file(dir .. "/pid") or ""):match("%d+") or "")
    if pid then
        os.execute("kill -TERM " .. pid .. " 2>/dev/null")
    end
    local st = S.wait_for(function() return S.read_file(dir .. "/status") end, 10, 0.02)
    if not st and pid then
        os.execute("kill -KILL " .. pid .. " 2>/dev/null")
        st = S.wait_for(function() return S.read_file(dir .. "/status") end, 3, 0.02)
    end
    local err = S.read_file(dir .. "/err") or ""
    os.execute("rm -rf " .. S.shquote(dir))
    return st and tonumber(st:match("%d+")), err
end

describe("apps/todo migrations", function()
    it("applies each step once when two servers load at once", function()
        local pg = P.start()
        local a, b, holder
        local ok, err = pcall(function()
            -- a psql holds the migrations' lock, so that both loads get to it and wait
            os.execute(string.format("%s/psql -X -q -h %s -p %d -U postgres -d app -c %s"
                .. " >/dev/null 2>&1 &", pg.bin, S.shquote(pg.dir), pg.port,
                S.shquote(LOCK .. "; SELECT pg_sleep(30)")))
            holder = S.wait_for(function()
                local pid = pg:psql("SELECT pid FROM pg_locks WHERE locktype = 'advisory'"
                    .. " AND granted")
                return pid ~= "" and pid
            end, 5, 0.05)
            assert(holder, "psql did not take the lock")
            a, b = launch(pg), launch(pg)
            local waiting = S.wait_for(function()
                return pg:psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                    .. " AND NOT granted") == "2"
            end, 10, 0.05)
            assert(waiting, "the two loads did not both wait for the lock")
            pg:psql("SELECT pg_cancel_backend(" .. holder .. ")")
            local pa, pb = port_of(a), port_of(b)
            assert.are.equal(STEPS, pg:psql("SELECT version, name FROM schema_migrations ORDER BY version"))
            -- both serve the same todos
            local ra = call({ connect = function() return S.connect(pa) end }, "POST", "/todos",
                JSON, '{"title":"via a"}')
            assert.are.equal(201, ra.status, ra.body)
            local rb = call({ connect = function() return S.connect(pb) end }, "GET", "/todos/1")
            assert.are.equal(200, rb.status, rb.body)
            assert.are.equal(ra.body, rb.body)
        end)
        local sa, la, sb, lb
        if a then sa, la = stop(a) end
        if b then sb, lb = stop(b) end
        pg:stop()
        assert(ok, err)
        local log = la .. "\n" .. lb
        assert.are.equal(0, sa, la)
        assert.are.equal(0, sb, lb)
        assert.are.equal(1, S.count(log, APPLIED_1), log)
        assert.are.equal(1, S.count(log, APPLIED_2), log)
        assert.are.equal(2, S.count(log, "todo: applied migration"), log)
        assert.is_nil(log:find("Sanitizer", 1, true), log)
    end)

    it("applies each step once with two workers, and not again on reload or restart", function()
        local pg = P.start()
        local srv
        local ok, err = pcall(function()
            srv = T.start_on(pg, { args = { "--workers", "2" }, any = true })
            assert.are.equal(2, srv.workers)
            -- both workers are up, and the steps ran once between them
            assert.are.equal(2, #assert(srv:wait_children(2, 5)))
            local log = srv:log()
            assert.are.equal(1, S.count(log, APPLIED_1), log)
            assert.are.equal(1, S.count(log, APPLIED_2), log)
            assert.are.equal(2, S.count(log, "todo: applied migration"), log)
            assert.are.equal(STEPS, pg:psql("SELECT version, name FROM schema_migrations ORDER BY version"))
            local r = call(srv, "POST", "/todos", JSON, '{"title":"kept"}')
            assert.are.equal(201, r.status, r.body)
            local applied = pg:psql("SELECT applied_at FROM schema_migrations ORDER BY version")

            -- a reload of both workers loads the app again: nothing is applied
            srv:signal("HUP")
            assert.is_true((srv:wait_log("reloaded ", 10, 2)), srv:log())
            assert.are.equal(2, S.count(srv:log(), "todo: applied migration"), srv:log())
            assert.are.equal(applied, pg:psql("SELECT applied_at FROM schema_migrations ORDER BY version"))
            r = call(srv, "GET", "/todos/1")
            assert.are.equal(200, r.status)
            assert.are.equal("kept", cjson.decode(r.body).title)
            srv:stop_ok()

            -- a new server on the same database: nothing is applied, the data is there
            srv = T.start_on(pg)
            assert.are.equal(0, S.count(srv:log(), "todo: applied migration"), srv:log())
            assert.are.equal(applied, pg:psql("SELECT applied_at FROM schema_migrations ORDER BY version"))
            r = call(srv, "GET", "/todos/1")
            assert.are.equal(200, r.status)
            assert.are.equal("kept", cjson.decode(r.body).title)
        end)
        T.stop(pg, srv)
        assert(ok, err)
    end)

    it("applies only the steps a database made by an older version lacks", function()
        local pg = P.start()
        local srv
        local ok, err = pcall(function()
            -- what version 1 of the app left: its table, its record, a todo
            pg:psql([[SET ROLE app;
                CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now());
                INSERT INTO schema_migrations (version, name) VALUES (1, 'create the todos table');
                CREATE TABLE todos (id bigserial PRIMARY KEY, title text NOT NULL,
                    done boolean NOT NULL DEFAULT false,
                    created_at timestamptz NOT NULL DEFAULT now());
                INSERT INTO todos (title, done) VALUES ('from before', true)]])
            srv = T.start_on(pg)
            local log = srv:log()
            assert.are.equal(0, S.count(log, APPLIED_1), log)
            assert.are.equal(1, S.count(log, APPLIED_2), log)
            assert.are.equal(STEPS, pg:psql("SELECT version, name FROM schema_migrations ORDER BY version"))
            local r = call(srv, "GET", "/todos/1")
            assert.are.equal(200, r.status, r.body)
            assert.are.equal('"1-1"', r:header("etag"))
            local t = cjson.decode(r.body)
            assert.are.same({ "from before", true, 1 }, { t.title, t.done, math.tointeger(t.version) })
        end)
        T.stop(pg, srv)
        assert(ok, err)
    end)
end)
