-- lunaserve.tcp(): sock:close() (issue 10), as OpenResty's: 1, then nil, "closed" on a second
-- close and from every other method; the peer sees the connection end (a FIN when nothing was
-- left unread). The socket object can connect again after it.

local C = require("spec.support.cosocket")
local U = require("spec.support.upstream")

local lines = C.lines

describe("sock:close", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    it("returns 1, then nil, 'closed'; the peer sees a FIN at once", function()
        local cmd = "@cl ECHO"
        local body = env:run(cmd, { "send=hi\\n", "*l", "close", "sleep=300", "close",
            "send=x", "1", "any=1", "until=x", "reused", "keepalive" })
        assert.are.equal(lines({
            "connect: 1, nil",
            "send: 9, nil",
            "send=hi\\n: 3, nil",
            '*l: "hi", nil, nil',
            "close: 1, nil",
            'close: nil, "closed"',
            'send=x: nil, "closed"',
            '1: nil, "closed", nil',
            'any=1: nil, "closed"',
            'until=x: nil, "closed", nil',
            'reused: nil, "closed"',
            'keepalive: nil, "closed"',
        }), body)
        local list = env.up:tagged("cl")
        assert.are.equal(1, #list)
        -- closed while the handler slept, with a FIN
        assert.is_false(list[1].open, U.describe(list))
        assert.is_true(list[1].eof, U.describe(list))
        assert.is_false(list[1].reset, U.describe(list))
    end)

    it("lets the same object connect again after a close", function()
        local body = env:run("@again1 SILENT", { "close", "sleep=50" })
        assert.are.equal(lines({ "connect: 1, nil", "send: 15, nil", "close: 1, nil" }), body)
        -- /reconnect closes by connecting again; here a close, then connect on the same object
        body = env:route("close_reconnect", { tag = "again" })
        assert.are.equal(lines({
            "connect 1: 1, nil",
            "close: 1, nil",
            "connect 2: 1, nil",
            "send: 16, nil",
            'receive: "hi", nil, nil',
            "close 2: 1, nil",
        }), body)
        assert.is_truthy(env.up:wait_closed("again2", 2))
    end)
end)
