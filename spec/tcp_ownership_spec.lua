-- A socket belongs to the handler (or timer call) that connected it (issue 10, "Bounded and
-- owned"): when the handler ends (returns, fails, or its budget stops it), when the timer's
-- call ends, or when the handler's client disconnects, every
-- socket it still holds is closed, and a wait on one returns nil, "closed"; a socket the
-- collector takes is closed too; a connection put back in the pool stays pooled after the
-- handler ends. The upstream says what it saw of each connection (tagged per test).

local S = require("spec.support.server")
local U = require("spec.support.upstream")
local C = require("spec.support.cosocket")

describe("sockets owned by their handler", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    local function closed_with_fin(tag, timeout)
        local list, last = env.up:wait_closed(tag, timeout or 2)
        assert.is_truthy(list, "the upstream still sees it open: " .. U.describe(last))
        assert.are.equal(1, #list, U.describe(list))
        return list[1]
    end

    it("are closed when the handler returns", function()
        assert.are.equal("ok\n", env:route("hold", { tag = "ret", how = "return" }))
        local c = closed_with_fin("ret", 1)
        assert.is_true(c.eof, U.describe({ c }))
    end)

    it("are closed when the handler fails (500)", function()
        local c = env.srv:connect()
        assert(c:send(S.get("/hold?" .. env:query({ tag = "err", how = "error" }))))
        local res = assert(c:read_response())
        c:close()
        assert.are.equal(500, res.status)
        closed_with_fin("err", 1)
    end)

    it("are closed when the handler budget stops the handler", function()
        local c = env.srv:connect()
        assert(c:send(S.get("/hold?" .. env:query({ tag = "spin", how = "spin" }))))
        local res = assert(c:read_response({ timeout = 5 }))
        c:close()
        assert.are.equal(500, res.status)
        closed_with_fin("spin", 1)
    end)

    it("are closed when the timer call that connected them ends", function()
        assert.are.equal("sent\n", env:route("hold_in_timer", { tag = "tmr" }))
        local c = closed_with_fin("tmr", 2)
        assert.is_true(c.eof, U.describe({ c }))
    end)

    it("are closed when the collector takes the socket object", function()
        local req = env:start_get("/gc?" .. env:query({ tag = "gc", ms = 1200 }))
        -- closed while the handler still sleeps
        local list, last = env.up:wait_closed("gc", 1)
        assert.is_truthy(list, "the collected socket is still open: " .. U.describe(last))
        assert.are.equal("ok\n", req:finish())
    end)

    -- Starts /abandon with `what`, waits until the handler waits, then the client leaves.
    local function abandon(t)
        local c = env.srv:connect()
        assert(c:send(S.get("/abandon?" .. env:query(t))))
        assert.are.equal("yes", env:wait_state(t.tag .. "_waiting"), "the handler never waited")
        S.sleep(0.1)
        c:close()
        return env:wait_state(t.tag, 3)
    end

    it("are closed when the client disconnects during a receive, which returns nil, 'closed'",
        function()
            assert.are.equal('nil, "closed"', abandon({ tag = "dread", what = "read" }))
            closed_with_fin("dread", 1)
        end)

    it("are closed when the client disconnects during a send, which returns nil, 'closed'",
        function()
            assert.are.equal('nil, "closed"', abandon({ tag = "dsend", what = "send" }))
        end)

    it("give up a connect when the client disconnects: it returns nil, 'closed'", function()
        assert.are.equal('nil, "closed"',
            abandon({ tag = "dconn", what = "connect", port = env.up.blackhole }))
    end)

    it("leave the pool's line when the client disconnects during a queued connect", function()
        local holder = env:start_get("/abandon?" .. env:query({ tag = "hold", what = "hold",
            ms = 800 }))
        assert.are.equal("yes", env:wait_state("hold_waiting"))
        assert.are.equal('nil, "closed"', abandon({ tag = "dq", what = "queued" }))
        assert.are.equal("1, nil\n", holder:finish())
        -- the line is whole: the next connect of that pool goes through
        assert.are.equal('nil, "closed"', abandon({ tag = "dq2", what = "read" }))
    end)

    it("stay pooled after the handler ends, and are reused by the next one", function()
        assert.are.equal('"hi", 1, nil\n', env:route("hold", { tag = "kept", how = "pooled",
            pool = "kept" }))
        S.sleep(0.3)
        local list = env.up:tagged("kept")
        assert.are.equal(1, #list)
        assert.is_true(list[1].open, "the pooled connection was closed: " .. U.describe(list))
        assert.are.equal('"hi", 1, nil\n', env:route("hold", { tag = "kept", how = "pooled",
            pool = "kept" }))
        list = env.up:tagged("kept")
        assert.are.equal(1, #list, "a second connection was made: " .. U.describe(list))
        assert.are.equal(6, list[1].bytes_in)
    end)
end)
