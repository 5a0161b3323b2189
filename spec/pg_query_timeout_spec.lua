-- A query that outlives its timeout (issue 11, "Timeouts"): the call returns nil, "timeout"
-- once the timeout has passed, the query is cancelled on the server (no pg_sleep runs there
-- any more), and the same connection serves the next query, in the same handler or, back in
-- the pool, the next request.

local cjson = require("cjson")
local P = require("spec.support.postgres")
local J = require("spec.support.pg_client")
local S = require("spec.support.server")

describe("pg query timeout", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_pool.lua")
    end)

    lazy_teardown(function()
        J.stop(pg, srv)
    end)

    local function timed_out(t, limit)
        assert.are.same({ false, "timeout", cjson.null }, { t.ok, t.err, t.sqlstate }, J.show(t))
        assert.is_true(t.took >= limit - 0.005 and t.took < limit + 0.2,
            "nil, 'timeout' came after " .. t.took .. " s (timeout " .. limit .. " s)")
    end

    it("returns nil, 'timeout' in time, cancels the query, and the same connection goes on", function()
        local t, took = J.get(srv, "/sleep?s=5&timeout=0.3&after=1")
        timed_out(t, 0.3)
        -- the next query ran on the same backend once the cancelled one had ended
        assert.is_true(t.after_ok, J.show(t))
        assert.are.equal(t.pid, t.after_pid)
        assert.is_true(t.after_took < 1, "the next query took " .. t.after_took .. " s")
        assert.are.equal("idle", t.status)
        assert.is_true(took < 1.5, "the request took " .. took .. " s")
        assert.are.equal(0, J.sleeping(pg))
        assert.are.equal("idle", J.backend_state(pg, t.pid))
    end)

    it("cancels the query of a handler that returns at once, and the pool reuses the connection",
        function()
            local t = J.get(srv, "/sleep?s=5&timeout=0.3")
            timed_out(t, 0.3)
            assert.is_truthy(S.wait_for(function() return J.sleeping(pg) == 0 end, 0.5, 0.02),
                "pg_sleep still runs on the server half a second after the timeout")
            local w = J.get(srv, "/who")
            assert.is_true(w.ok, J.show(w))
            assert.are.equal(t.pid, w.pid)
            assert.are.equal("idle", J.backend_state(pg, t.pid))
        end)

    it("applies a pool's query_timeout to pool:query", function()
        local t = J.get(srv, "/pool_query?pool=quick&sql=" .. J.enc("SELECT pg_sleep(5)"))
        timed_out(t, 0.3)
        assert.is_truthy(S.wait_for(function() return J.sleeping(pg) == 0 end, 0.5, 0.02),
            "pg_sleep still runs on the server half a second after the timeout")
        local q = J.get(srv, "/pool_query?pool=quick&sql=" .. J.enc("SELECT 41 + 1 AS n"))
        assert.is_true(q.ok, J.show(q))
        assert.are.same({ { n = 42 } }, q.rows)
    end)
end)
