-- PostgreSQL going away under lunaserve.pg (issue 11, "Errors", "the server restarted
-- mid-query"): a query whose backend is terminated, or whose server shuts down, ends at once
-- with the server's message and sqlstate (no hang), the broken connection leaves the pool, and
-- the next request works on a new connection; an idle pooled connection that the server ends
-- leaves the pool by itself.

local P = require("spec.support.postgres")
local J = require("spec.support.pg_client")
local S = require("spec.support.server")

-- (a broken connection says "closed: " and the server's last word)
local TERMINATED = "closed: terminating connection due to administrator command"

describe("pg server failures", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_pool.lua")
    end)

    lazy_teardown(function()
        J.stop(pg, srv)
    end)

    -- A pg_sleep(10) in a handler, running on the server.
    local function sleeper()
        local req = J.start(srv, "/sleep?s=10")
        assert.is_truthy(S.wait_for(function() return J.sleeping(pg) == 1 end, 2, 0.02),
            "the handler's pg_sleep never ran")
        return req
    end

    -- The pool is empty, and serves the next request with a new backend.
    local function recovers(old_pid)
        local s, ok = J.wait_stats(srv, "main", function(st) return st.live == 0 end, 1)
        assert.is_true(ok, "the broken connections stay in the pool: " .. J.show(s))
        local w = J.get(srv, "/who")
        assert.is_true(w.ok, J.show(w))
        assert.are_not.equal(old_pid, w.pid)
        local s2 = J.get(srv, "/stats?pool=main")
        assert.are.same({ 1, 1 }, { s2.live, s2.idle }, J.show(s2))
    end

    it("ends a query whose backend is terminated (pg_terminate_backend) with the server's error",
        function()
            local req = sleeper()
            local t0 = S.now()
            assert.are.equal("t", pg:psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                .. " WHERE usename = 'app' AND query LIKE '%pg_sleep%' AND state = 'active'",
                "postgres"))
            local t = req:finish(3)
            assert.are.same({ false, TERMINATED, "57P01" }, { t.ok, t.err, t.sqlstate }, J.show(t))
            assert.is_true(S.now() - t0 < 1, "the error came after " .. (S.now() - t0) .. " s")
            assert.are.equal("closed", t.status)
            recovers(t.pid)
        end)

    it("drops an idle pooled connection that the server terminates", function()
        local w = J.get(srv, "/who")
        assert.is_true(w.ok, J.show(w))
        assert.are.equal("t", pg:psql("SELECT pg_terminate_backend(" .. math.tointeger(w.pid) .. ")", "postgres"))
        recovers(w.pid)
    end)

    it("ends a query when the server shuts down, says so while it is down, and recovers after its restart",
        function()
            J.get(srv, "/who") -- one idle connection too
            local req = sleeper()
            local t0 = S.now()
            pg:shutdown() -- fast: backends are terminated
            local t = req:finish(3)
            assert.are.same({ false, TERMINATED, "57P01" }, { t.ok, t.err, t.sqlstate }, J.show(t))
            assert.is_true(S.now() - t0 < 2, "the error came after " .. (S.now() - t0) .. " s")
            local s, ok = J.wait_stats(srv, "main", function(st) return st.live == 0 end, 1)
            assert.is_true(ok, "the broken connections stay in the pool: " .. J.show(s))
            -- while it is down: a connect error at once
            local down, took = J.get(srv, "/who")
            assert.is_false(down.ok, J.show(down))
            assert.is_truthy(down.err:find("Connection refused", 1, true), down.err)
            assert.is_true(took < 1, "the error came after " .. took .. " s")
            pg:restart()
            recovers(t.pid)
        end)
end)
