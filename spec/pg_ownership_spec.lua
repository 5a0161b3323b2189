-- lunaserve.pg's connections belong to the handler that acquired them (issue 11,
-- "Ownership"): one its handler forgot to release goes back to the pool when the handler ends;
-- one whose client disconnects mid-query is closed (it is busy), its query cancelled on the
-- server, and the pool's count comes back; a caller whose client leaves while it waits in the
-- pool's line leaves the line; a hot reload closes the old code's pool and its connections
-- once its last request is done; a stop closes what handlers still hold when the shutdown
-- timeout ends, and cancels their queries.

local P = require("spec.support.postgres")
local J = require("spec.support.pg_client")
local S = require("spec.support.server")

describe("pg connections owned by their handler", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_pool.lua")
    end)

    lazy_teardown(function()
        J.stop(pg, srv)
    end)

    it("go back to the pool when a handler forgets db:release()", function()
        local t = J.get(srv, "/forget")
        assert.is_true(t.ok, J.show(t))
        assert.are.same({ 1, 0 }, { t.stats.live, t.stats.idle }, "while the handler held it")
        local s = J.get(srv, "/stats?pool=main")
        assert.are.same({ 1, 1, 0 }, { s.live, s.idle, s.waiting }, J.show(s))
        local w = J.get(srv, "/who")
        assert.are.equal(t.pid, w.pid)
    end)

    it("are closed when the client disconnects mid-query, the query cancelled, and the pool's count comes back", function()
        local w = J.get(srv, "/who")
        local req = J.start(srv, "/sleep?s=10")
        assert.is_truthy(S.wait_for(function() return J.sleeping(pg) == 1 end, 2, 0.02),
            "the handler's pg_sleep never ran")
        req:abandon()
        local s, ok = J.wait_stats(srv, "main", function(st) return st.live == 0 end, 1)
        assert.is_true(ok, "the busy connection was not let go: " .. J.show(s))
        assert.are.equal(0, s.open, "connections still open in the process")
        -- the query does not run on to its end on the server: the backend goes at once (else
        -- each client that leaves mid-query would leave a backend running beyond the pool's
        -- size)
        assert.is_true(J.wait_backend_gone(pg, w.pid, 1), "backend " .. w.pid .. " stays")
        assert.are.equal(0, J.sleeping(pg))
        local again = J.get(srv, "/who")
        assert.is_true(again.ok, J.show(again))
        assert.are_not.equal(w.pid, again.pid)
    end)

    it("leave the pool's line when the client of a caller waiting in it disconnects", function()
        local holder = J.start(srv, "/sleep?pool=one&s=0.6")
        assert.is_truthy(S.wait_for(function() return J.sleeping(pg) == 1 end, 2, 0.02),
            "the holder's pg_sleep never ran")
        local waiter = J.start(srv, "/acquire?pool=one")
        local s, ok = J.wait_stats(srv, "one", function(st) return st.waiting == 1 end, 1)
        assert.is_true(ok, "nobody waits in line: " .. J.show(s))
        waiter:abandon()
        s, ok = J.wait_stats(srv, "one", function(st) return st.waiting == 0 end, 1)
        assert.is_true(ok, "the gone caller still waits in line: " .. J.show(s))
        local h = holder:finish(3)
        assert.is_true(h.ok, J.show(h))
        -- the connection came back to the pool, not to the caller that left
        s = J.get(srv, "/stats?pool=one")
        assert.are.same({ 1, 1, 0 }, { s.live, s.idle, s.waiting }, J.show(s))
        local a = J.get(srv, "/acquire?pool=one")
        assert.is_true(a.ok, J.show(a))
        assert.is_true(a.took < 0.05, "took " .. a.took .. " s")
    end)
end)

describe("pg pools on a hot reload", function()
    local pg, srv, dir, app

    lazy_setup(function()
        pg = P.start()
        dir = S.mktempdir()
        app = dir .. "/pg_pool.lua"
        S.write_file(app, assert(S.read_file(S.app("pg_pool.lua"))))
        S.write_file(dir .. "/testkit.lua", assert(S.read_file(S.app("testkit.lua"))))
        local ok, started = pcall(S.start, { app = app, args = { "--reload" },
            env = { DATABASE_URL = pg.url } })
        if not ok then
            pg:stop()
            error(started)
        end
        srv = started
    end)

    lazy_teardown(function()
        J.stop(pg, srv)
        if dir then
            os.execute("rm -rf " .. S.shquote(dir))
        end
    end)

    -- Rewrites the app (a new comment) and waits until new requests run the new code.
    local function reload()
        local before = J.get(srv, "/load_id").load_id
        S.write_file_atomic(app, S.read_file(app) .. "-- saved again\n")
        local now
        assert.is_truthy(S.wait_for(function()
            now = J.get(srv, "/load_id").load_id
            return now ~= before
        end, 3, 0.02), "the app was not reloaded")
        return now
    end

    it("close the old pool's idle connections", function()
        local w = J.get(srv, "/who")
        assert.is_true(w.ok, J.show(w))
        reload()
        assert.is_true(J.wait_backend_gone(pg, w.pid, 2), "the old pool's connection stays open")
        local w2 = J.get(srv, "/who")
        assert.is_true(w2.ok, J.show(w2))
        assert.are_not.equal(w.pid, w2.pid)
        local s = J.get(srv, "/stats?pool=main")
        assert.are.same({ 1, 1, 1 }, { s.live, s.idle, s.open }, J.show(s))
    end)

    it("close the old pool's busy connection once the old code's request is done", function()
        local req = J.start(srv, "/sleep?s=0.8") -- takes the idle connection of the pool
        assert.is_truthy(S.wait_for(function() return J.sleeping(pg) == 1 end, 2, 0.02),
            "the handler's pg_sleep never ran")
        local idle = J.get(srv, "/who") -- a second connection, idle in the old pool
        reload()
        local t = req:finish(3)
        assert.is_true(t.ok, J.show(t))
        assert.is_true(J.wait_backend_gone(pg, t.pid, 2), "the busy connection stays open")
        assert.is_true(J.wait_backend_gone(pg, idle.pid, 2), "the idle connection stays open")
        local w = J.get(srv, "/who")
        assert.is_true(w.ok, J.show(w))
        assert.are_not.equal(t.pid, w.pid)
        assert.are_not.equal(idle.pid, w.pid)
        local s = J.get(srv, "/stats?pool=main")
        assert.are.same({ 1, 1, 1 }, { s.live, s.idle, s.open }, J.show(s))
        assert.are.equal(1, pg:connections())
    end)
end)

describe("pg connections when the server stops", function()
    it("are closed, their query cancelled, when a handler still waits on one at the shutdown's end",
        function()
            local pg, srv = P.start_with_app("pg_pool.lua", { args = { "--shutdown-timeout", "1" } })
            finally(function()
                if srv:alive() then
                    srv:kill()
                end
                pg:stop()
            end)
            local req = J.start(srv, "/sleep?s=10")
            assert.is_truthy(S.wait_for(function() return J.sleeping(pg) == 1 end, 2, 0.02),
                "the handler's pg_sleep never ran")
            srv:signal("TERM")
            local took = srv:assert_clean_exit(4)
            assert.is_true(took < 2, "the stop took " .. took .. " s")
            req:abandon()
            assert.is_truthy(S.wait_for(function() return pg:connections() == 0 end, 1, 0.05),
                "PostgreSQL still sees the app's connections")
            assert.are.equal(0, J.sleeping(pg))
        end)
end)
