-- Only an idle connection goes back into lunaserve.pg's pool (issue 11, "Pool"): one left in
-- a transaction (BEGIN without COMMIT, released or forgotten by its handler, or released while
-- a query that timed out in it drains) or one that listens (LISTEN) is closed; the next request gets a fresh backend with no transaction open.

local P = require("spec.support.postgres")
local J = require("spec.support.pg_client")

describe("pg pool takes back only idle connections", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_pool.lua")
    end)

    lazy_teardown(function()
        J.stop(pg, srv)
    end)

    -- An idle connection in the pool, whose pid is returned.
    local function one_idle()
        local w = J.get(srv, "/who")
        assert.is_true(w.ok, J.show(w))
        local s = J.get(srv, "/stats?pool=main")
        assert.are.same({ 1, 1 }, { s.live, s.idle }, J.show(s))
        return w.pid
    end

    -- The route took the idle connection `pid` and did not give it back reusable: it is
    -- closed, the pool is empty, and the next request gets another backend, idle.
    local function closed_not_reused(pid, t)
        assert.are.equal(pid, t.pid, "the route did not get the idle connection: " .. J.show(t))
        assert.is_true(J.wait_backend_gone(pg, pid, 2), "backend " .. pid .. " is still connected")
        local s = J.get(srv, "/stats?pool=main")
        assert.are.same({ 0, 0, 0 }, { s.live, s.idle, s.waiting }, J.show(s))
        local w = J.get(srv, "/who")
        assert.is_true(w.ok, J.show(w))
        assert.are_not.equal(pid, w.pid)
        assert.are.equal("idle", w.status)
        assert.are.equal("idle", J.backend_state(pg, w.pid))
    end

    it("closes a connection released inside a transaction (BEGIN, no COMMIT, db:release())", function()
        local pid = one_idle()
        local t = J.get(srv, "/begin?release=1")
        assert.is_true(t.ok, J.show(t))
        assert.are.equal("transaction", t.status)
        assert.is_true(t.released)
        closed_not_reused(pid, t)
    end)

    it("closes a connection its handler forgot inside a transaction (BEGIN, then return)", function()
        local pid = one_idle()
        local t = J.get(srv, "/begin?release=0")
        assert.is_true(t.ok, J.show(t))
        assert.are.equal("transaction", t.status)
        closed_not_reused(pid, t)
    end)

    it("closes a connection released inside a transaction whose last query timed out", function()
        local pid = one_idle()
        local t = J.get(srv, "/begin?release=1&timeout=0.2")
        assert.is_true(t.ok, J.show(t))
        assert.are.equal("timeout", t.sleep_err)
        assert.is_true(t.released)
        -- (closed once the cancelled query has ended on the server)
        closed_not_reused(pid, t)
    end)

    it("closes a connection that listens (LISTEN, then db:release())", function()
        local pid = one_idle()
        local t = J.get(srv, "/listen_release")
        assert.is_true(t.ok, J.show(t))
        assert.are.equal("idle", t.status) -- no transaction: it is closed for the LISTEN alone
        assert.is_true(t.released)
        closed_not_reused(pid, t)
    end)

    it("keeps an idle connection: the next request gets the same backend", function()
        local pid = one_idle()
        local w = J.get(srv, "/who")
        assert.are.equal(pid, w.pid)
        assert.are.equal("idle", J.backend_state(pg, pid))
    end)
end)
