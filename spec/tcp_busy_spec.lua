-- lunaserve.tcp(): one reader and one writer at a time (issue 10), as OpenResty's cosocket:
-- while one coroutine waits in a receive, a second reader gets nil, "socket busy reading"
-- (and setkeepalive too), while one waits in a send a second writer gets nil, "socket busy
-- writing"; a reader and a writer may work at once (full duplex). A wait suspends every
-- coroutine up to its handler, so the second coroutine here is another request's handler,
-- given the socket through the app's state.

local S = require("spec.support.server")
local C = require("spec.support.cosocket")

local lines = C.lines

describe("one reader and one writer at a time", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    -- Starts /busy_* `route` and waits until its handler waits with the socket in shared[name].
    local function first(route, t)
        local req = env:start_get("/" .. route .. "?" .. env:query(t))
        assert.are.equal("yes", env:wait_state(t.name .. "_waiting"),
            "the first request never got to its wait")
        S.sleep(0.05)
        return req
    end

    it("a second reader gets nil, 'socket busy reading'", function()
        local req = first("busy_reader", { name = "r1", cmd = "AFTER 1000 late\\n" })
        local body = env:route("busy_other", { name = "r1", kind = "read" })
        assert.are.equal(lines({
            'receive: nil, "socket busy reading", nil',
            'receive 1: nil, "socket busy reading", nil',
            'receiveany: nil, "socket busy reading"',
            'until: nil, "socket busy reading", nil',
            'keepalive: nil, "socket busy reading"',
        }), body)
        -- the first reader is not disturbed
        assert.are.equal(lines({
            "connect: 1, nil",
            "send: 18, nil",
            'receive: "late", nil, nil',
        }), req:finish())
    end)

    it("a writer may send while a reader waits (full duplex)", function()
        local req = first("busy_reader", { name = "r2", cmd = "ECHO" })
        local body = env:route("busy_other", { name = "r2", kind = "duplex", text = "both\\n" })
        assert.are.equal(lines({ "send: 5, nil" }), body)
        assert.are.equal(lines({
            "connect: 1, nil",
            "send: 5, nil",
            'receive: "both", nil, nil',
        }), req:finish())
    end)

    it("a second writer gets nil, 'socket busy writing'", function()
        local req = first("busy_writer", { name = "w1", size = 16 * 1024 * 1024, ms = 1500 })
        local body = env:route("busy_other", { name = "w1", kind = "write" })
        assert.are.equal(lines({
            'send: nil, "socket busy writing"',
            'keepalive: nil, "socket busy writing"',
        }), body)
        assert.are.equal(lines({
            "connect: 1, nil",
            "send: 7, nil",
            'send big: nil, "timeout"',
        }), req:finish())
    end)
end)
