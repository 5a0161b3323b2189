-- lunaserve.tcp(): sock:settimeout(ms) and sock:settimeouts(connect_ms, send_ms, read_ms)
-- (issue 10), as in OpenResty: each bounds its own operation, a timeout set after connect
-- bounds the next operation, and without either the app's settings give the bounds
-- (spec/apps/tcp.lua sets socket_connect_timeout, socket_send_timeout and socket_read_timeout
-- to 0.5 s). A read timeout leaves the socket usable (a second receive times out again
-- rather than answering "closed").

local C = require("spec.support.cosocket")

local lines = C.lines

describe("socket timeouts", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    -- two receives on a SILENT upstream, each ending with a timeout
    local READ_TIMEOUTS = lines({
        "connect: 1, nil",
        "send: 7, nil",
        'receive: nil, "timeout", ""',
        'receive again: nil, "timeout", ""',
    })

    it("settimeout(ms) bounds a receive, and the socket stays usable", function()
        local body, took = env:route("timeout", { op = "read", how = "settimeout", ms = 200 })
        assert.are.equal(READ_TIMEOUTS, body)
        C.within(took, 0.38, 1.5, "two receives with a 200 ms timeout")
    end)

    it("settimeouts(c, s, r) bounds a receive by r alone", function()
        local body, took = env:route("timeout",
            { op = "read", how = "settimeouts", c = 100, s = 100, r = 400 })
        assert.are.equal(READ_TIMEOUTS, body)
        C.within(took, 0.78, 2, "two receives with a 400 ms read timeout")
    end)

    it("settimeout after connect bounds the next receive", function()
        local body, took = env:route("timeout", { op = "read", how = "late", ms = 150 })
        assert.are.equal(READ_TIMEOUTS, body)
        C.within(took, 0.28, 1.5, "two receives with a 150 ms timeout")
    end)

    it("takes the read timeout from the settings when none is set", function()
        local body, took = env:route("timeout", { op = "read", how = "none" })
        assert.are.equal(READ_TIMEOUTS, body)
        C.within(took, 0.95, 2.5, "two receives with socket_read_timeout = 0.5")
    end)

    local CONNECT_TIMEOUT = lines({ 'connect: nil, "timeout"' })

    it("settimeout(ms) bounds a connect", function()
        local body, took = env:route("timeout",
            { op = "connect", how = "settimeout", ms = 200, port = env.up.blackhole })
        assert.are.equal(CONNECT_TIMEOUT, body)
        C.within(took, 0.18, 1, "a connect with a 200 ms timeout")
    end)

    it("settimeouts(c, s, r) bounds a connect by c alone", function()
        local body, took = env:route("timeout",
            { op = "connect", how = "settimeouts", c = 400, s = 100, r = 100,
                port = env.up.blackhole })
        assert.are.equal(CONNECT_TIMEOUT, body)
        C.within(took, 0.38, 1.5, "a connect with a 400 ms connect timeout")
    end)

    it("takes the connect timeout from the settings when none is set", function()
        local body, took = env:route("timeout",
            { op = "connect", how = "none", port = env.up.blackhole })
        assert.are.equal(CONNECT_TIMEOUT, body)
        C.within(took, 0.45, 2, "a connect with socket_connect_timeout = 0.5")
    end)

    -- a send of 16 MiB to an upstream that reads nothing: the kernel's buffers fill, then
    -- nothing moves for the send timeout; the socket is closed after it
    local SEND_TIMEOUT = lines({
        "connect: 1, nil",
        "send: 7, nil",
        'send big: nil, "timeout"',
        'send after: nil, "closed"',
        'receive after: nil, "closed", nil',
        'close: nil, "closed"',
    })
    local BIG = 16 * 1024 * 1024

    it("settimeouts(c, s, r) bounds a send by s alone, and the socket is closed after",
        function()
            local body, took = env:route("timeout",
                { op = "send", how = "settimeouts", c = 5000, s = 300, r = 100, size = BIG })
            assert.are.equal(SEND_TIMEOUT, body)
            C.within(took, 0.28, 4, "a send with a 300 ms send timeout")
        end)

    it("takes the send timeout from the settings when none is set", function()
        local body, took = env:route("timeout", { op = "send", how = "none", size = BIG })
        assert.are.equal(SEND_TIMEOUT, body)
        C.within(took, 0.45, 4, "a send with socket_send_timeout = 0.5")
    end)
end)
