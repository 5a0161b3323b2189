-- lunaserve.tcp() while the app loads (issue 10, "Bounded and owned": "Where it works: in
-- handlers, in timers, and while the app loads (init code may connect)"): the app's own code
-- connects, sends and receives before the server serves; the socket belongs to the Lua state,
-- and is closed when the server stops.

local S = require("spec.support.server")
local U = require("spec.support.upstream")

describe("a socket used while the app loads", function()
    local up, srv

    lazy_setup(function()
        up = U.start()
        srv = S.start({ app = S.app("tcp_load.lua"),
            env = { TCP_SPEC_UPSTREAM_PORT = tostring(up.port) } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
        if up then
            up:stop()
        end
    end)

    it("connects, sends and receives, and is closed when the server stops", function()
        local status, body = srv:get_body("/")
        assert.are.equal(200, status)
        assert.are.equal('connect: 1, nil, nil\nsend: 14, nil, nil\nreceive: "hi", nil, nil\n',
            body)
        local list = up:tagged("load")
        assert.are.equal(1, #list, U.describe(list))
        assert.is_true(list[1].open, "closed before the server stopped: " .. U.describe(list))
        srv:stop_ok()
        srv = nil
        assert.is_truthy(up:wait_closed("load", 2), "still open after the server stopped")
    end)
end)
