-- lunaserve.tcp() in coroutines the handler creates (issue 10, "Where it works"): a socket
-- made, used and closed inside a coroutine.wrap (with ordinary yields between its calls), a
-- socket of the handler used two coroutines deep, and a socket made in a coroutine used by the
-- handler afterwards.

local C = require("spec.support.cosocket")

local lines = C.lines

describe("sockets in coroutines the handler creates", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    it("connect, send, receive and close work in them as in the handler", function()
        local body = env:route("coroutines", {})
        assert.are.equal(lines({
            "wrap 1: 1, nil",
            "wrap 2: 9, nil",
            'wrap 3: "one", nil, nil',
            "wrap 4: 1, nil",
            "handler connect: 1, nil",
            "inner send: 9, nil",
            "outer got: inner yielded",
            'inner receive: "two", nil, nil',
            "inner status: dead",
            "outer status: dead",
            "coroutine connect: 1, nil",
            "handler send: 11, nil",
            'handler receive: "three", nil, nil',
            "close: 1, nil",
        }), body)
    end)
end)
