-- A handler that the CPU budget stops gives its PostgreSQL connection back (issue 11,
-- "Ownership": released when the budget stops the handler): an idle one returns to the pool
-- and is reused, one left inside a transaction is closed; the client gets the budget's 500.

local P = require("spec.support.postgres")
local J = require("spec.support.pg_client")
local S = require("spec.support.server")

describe("pg connection of a handler the budget stops", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_pool.lua", { args = { "--handler-budget", "0.2" } })
    end)

    lazy_teardown(function()
        J.stop(pg, srv)
    end)

    local function spin(tx)
        local c = srv:connect()
        assert(c:send(S.get("/spin?tx=" .. tx)))
        local res, err = c:read_response({ timeout = 5 })
        c:close()
        assert.is_truthy(res, err)
        assert.are.equal(500, res.status)
    end

    it("goes back to the pool idle, and the next request reuses it", function()
        local w = J.get(srv, "/who")
        assert.is_true(w.ok, J.show(w))
        spin(0)
        local s = J.get(srv, "/stats?pool=main")
        assert.are.same({ 1, 1, 0 }, { s.live, s.idle, s.waiting }, J.show(s))
        local again = J.get(srv, "/who")
        assert.are.equal(w.pid, again.pid)
        assert.are.equal("idle", again.status)
    end)

    it("is closed when the handler stopped inside a transaction", function()
        local w = J.get(srv, "/who")
        assert.is_true(w.ok, J.show(w))
        spin(1)
        assert.is_true(J.wait_backend_gone(pg, w.pid, 2), "backend " .. w.pid .. " is still connected")
        local s = J.get(srv, "/stats?pool=main")
        assert.are.same({ 0, 0, 0 }, { s.live, s.idle, s.waiting }, J.show(s))
        local again = J.get(srv, "/who")
        assert.are_not.equal(w.pid, again.pid)
        assert.are.equal("idle", J.backend_state(pg, again.pid))
    end)
end)
