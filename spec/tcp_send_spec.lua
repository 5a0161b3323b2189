-- lunaserve.tcp(): sock:send(data) (issue 10), as OpenResty's tcpsock:send: data is a string,
-- a number or a nested array of them; it returns the number of bytes once the kernel has them
-- all, and the peer gets exactly those bytes in order. Values it does not take raise an error
-- before anything is queued, so the socket stays usable. (The send timeout is in
-- spec/tcp_timeouts_spec.lua.)

local C = require("spec.support.cosocket")

local lines = C.lines

describe("sock:send", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    it("sends strings, numbers and nested arrays, returning the bytes sent", function()
        local body = env:route("send", {})
        assert.are.equal(lines({
            "connect: 1, nil",
            "send cmd: 8, nil",
            "send string: 3, nil",
            "send integer: 2, nil",
            "send float: 3, nil",
            "send nested: 5, nil",
            "send empty string: 0, nil",
            "send empty table: 0, nil",
            'receive: "abc421.5abc7d", nil, nil',
            "send big: 1000001, nil",
            "echo of big: true",
            "close: 1, nil",
        }), body)
    end)

    it("raises on a value it does not take, and the socket stays usable", function()
        local body = env:route("send_bad", {})
        assert.are.equal(lines({
            "connect: 1, nil",
            "send cmd: 8, nil",
            "boolean: false bad data",
            "nil: false bad data",
            "boolean in an array: false bad data",
            "function in a nested array: false bad data",
            "send after: 2, nil",
            'receive: "ok", nil, nil',
        }), body)
    end)

    it("fails on a connection the peer reset, and the socket is closed after", function()
        local body = env:run("SENDRESET abc", { "sleep=200", "send=more", "1" })
        local err = body:match('send=more: nil, "([^"]*)"')
        assert.is_truthy(err == "broken pipe" or err == "connection reset by peer", body)
        assert.are.equal(lines({
            "connect: 1, nil",
            "send: 14, nil",
            'send=more: nil, "' .. err .. '"',
            '1: nil, "closed", nil',
        }), body)
    end)
end)
