-- A misbehaving upstream that sends 100 MB (issue 10, "Bounded and owned"): a receive that
-- gathers everything ('*a', a size, receiveuntil without a size) fails with a clear error once
-- past the setting socket_max_receive (spec/apps/tcp.lua sets it to 1m), handing over what it
-- gathered and closing the socket; receiveany and a receiveuntil iterator with a size
-- stream all 100 MB, in order, in pieces no larger than asked. The server's peak resident
-- memory (VmHWM) stays far below 100 MB through all of it.

local C = require("spec.support.cosocket")

local lines = C.lines

local MB100 = 100 * 1024 * 1024

describe("an upstream that sends 100 MB", function()
    local env, hwm0

    lazy_setup(function()
        env = C.start(C.small_quarantine())
        env:get("/state")
        hwm0 = env.srv:status_kb("VmHWM")
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    -- The answer of /flood_all for a receive stopped by the limit: what it gathered is handed
    -- over as the partial data: at least the limit, and not much more (the last read may take
    -- up to what the input buffer has room for: at most as much again).
    local function limited(body)
        local n = tonumber(body:match("\npartial: (%d+)\n"))
        assert.is_truthy(n, body)
        assert.is_true(n >= 1048576 and n <= 2 * 1048576 + 65536, "partial of " .. n .. " bytes")
        assert.are.equal(lines({
            "data: nil",
            'err: "receive limit exceeded"',
            "partial: " .. n,
            "partial is the pattern: true",
            'after: nil, "closed", nil',
        }), body)
    end

    it("receive('*a') fails past socket_max_receive, handing over what it gathered", function()
        limited(env:route("flood_all", { n = MB100 }, 30))
    end)

    it("receive(n) with n past socket_max_receive fails the same way", function()
        limited(env:route("flood_all", { n = MB100, how = "size", size = 4 * 1024 * 1024 }, 30))
    end)

    it("a receiveuntil iterator without a size fails the same way", function()
        limited(env:route("flood_all", { n = MB100, how = "until" }, 30))
    end)

    local STREAMED = lines({
        "total: " .. MB100,
        'err: "closed"',
        "in order: true",
        "largest within max: true",
    })

    it("receiveany(64k) streams all of it", function()
        assert.are.equal(STREAMED, env:route("flood_stream",
            { n = MB100, max = 65536, how = "any" }, 60))
    end)

    it("a receiveuntil iterator with a size streams all of it", function()
        assert.are.equal(STREAMED, env:route("flood_stream",
            { n = MB100, max = 65536, how = "until" }, 60))
    end)

    it("kept the server's peak memory far below 100 MB", function()
        local hwm = env.srv:status_kb("VmHWM")
        assert.is_truthy(hwm0 and hwm, "no VmHWM in /proc/PID/status")
        assert.is_true(hwm - hwm0 < 32 * 1024, string.format(
            "peak resident memory grew by %d KiB (from %d to %d KiB)", hwm - hwm0, hwm0, hwm))
    end)
end)
