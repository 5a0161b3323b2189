-- lunaserve.tcp(): sock:connect (issue 10, "lunaserve.tcp(): the cosocket"), as OpenResty's
-- tcpsock:connect: by IP address, by name through /etc/hosts, to a Unix socket
-- ("unix:/path"); the errors it returns (refused, a name that does not resolve, a missing
-- socket file, the connect timeout); connect on a connected socket closes the old connection
-- first; and what a socket that is not connected answers.

local S = require("spec.support.server")
local C = require("spec.support.cosocket")

local lines = C.lines

describe("sock:connect", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    local ECHOED = {
        "connect: 1, nil",
        "send: 5, nil",
        "send=hi\\n: 3, nil",
        '*l: "hi", nil, nil',
    }

    it("connects to an IP address and returns 1", function()
        local body = env:run("ECHO", { "send=hi\\n", "*l" })
        assert.are.equal(lines(ECHOED), body)
    end)

    it("connects to 'localhost' through /etc/hosts", function()
        local hosts = S.read_file("/etc/hosts") or ""
        assert.is_truthy(hosts:find("127.0.0.1%s+localhost"),
            "this spec needs '127.0.0.1 localhost' in /etc/hosts:\n" .. hosts)
        local body = env:run("ECHO", { "send=hi\\n", "*l" }, { host = "localhost" })
        assert.are.equal(lines(ECHOED), body)
    end)

    it("connects to a Unix socket given as unix:/path", function()
        local body = env:run("ECHO", { "send=hi\\n", "*l" }, { host = "unix:" .. env.up.unix })
        assert.are.equal(lines(ECHOED), body)
    end)

    -- what every method of a socket whose connect failed says
    local AFTER_FAILURE = {
        'send: nil, "closed"',
        'receive: nil, "closed", nil',
        'reused: nil, "closed"',
        'keepalive: nil, "closed"',
        'close: nil, "closed"',
    }

    local function failed(first)
        local t = { first }
        for _, l in ipairs(AFTER_FAILURE) do
            t[#t + 1] = l
        end
        return lines(t)
    end

    it("returns nil, 'connection refused' when nothing listens", function()
        local body = env:route("fail", { port = S.free_port() })
        assert.are.equal(failed('connect: nil, "connection refused"'), body)
    end)

    it("returns an error that names a host name that does not resolve", function()
        local body, took = env:route("fail", { host = "no-such-host.invalid", port = 80 })
        local first = body:match("^[^\n]*")
        assert.is_truthy(first:find('^connect: nil, "no%-such%-host%.invalid could not be resolved'),
            first)
        assert.are.equal(failed(first), body)
        C.within(took, 0, 5, "the failed lookup")
    end)

    it("returns nil, 'no such file or directory' for a Unix socket that does not exist", function()
        local body = env:route("fail", { host = "unix:" .. env.up.dir .. "/none.sock" })
        assert.are.equal(failed('connect: nil, "no such file or directory"'), body)
    end)

    it("gives up with nil, 'timeout' within its connect timeout", function()
        local body, took = env:route("fail", { port = env.up.blackhole, ct = 300 })
        assert.are.equal(failed('connect: nil, "timeout"'), body)
        C.within(took, 0.25, 1.5, "a connect with a 300 ms timeout")
    end)

    it("on a connected socket closes the old connection first", function()
        local req = env:start_get("/reconnect?" .. env:query({ hold = 1500 }))
        -- while the handler still holds the second connection, the first is closed
        local first, last = env.up:wait_closed("first", 1.2)
        assert.is_truthy(first, "the first connection is still open: "
            .. require("spec.support.upstream").describe(last))
        local second = env.up:tagged("second")
        assert.are.equal(1, #second)
        assert.is_true(second[1].open, "the second connection closed early")
        assert.is_true(first[1].eof, "the first connection was not closed with a FIN")
        local body = req:finish()
        assert.are.equal(lines({
            "connect 1: 1, nil",
            "send 1: 14, nil",
            "connect 2: 1, nil",
            "reused: 0, nil",
            "send 2: 16, nil",
            'receive: "hi", nil, nil',
            "close: 1, nil",
        }), body)
    end)

    it("connects again at once after a close, in a pool bounded to one connection", function()
        -- pool_size 1 with a backlog: the second connect waits for the first connection to
        -- be gone. Three times in a row: the pool's count of live connections stays right.
        local want = lines({
            "connect 1: 1, nil",
            "send 1: 10, nil",
            "connect 2: 1, nil",
            "send 2: 13, nil",
            'receive: "hi", nil, nil',
            "close: 1, nil",
        })
        for i = 1, 3 do
            local body = env:route("reconnect_bounded", { tag = "rb" })
            assert.are.equal(want, body, "round " .. i)
        end
        assert.is_truthy(env.up:wait_closed("rb2", 2, 3))
    end)

    it("answers nil, 'closed' on a socket that was never connected", function()
        local body = env:get("/never")
        assert.are.equal(lines({
            'send: nil, "closed"',
            'receive: nil, "closed", nil',
            'receiveany: nil, "closed"',
            'until: nil, "closed", nil',
            'reused: nil, "closed"',
            'keepalive: nil, "closed"',
            'setoption: nil, "closed"',
            'close: nil, "closed"',
        }), body)
    end)
end)
