-- lunaserve.tcp(): a socket object whose __gc has run but that another object's finalizer
-- brought back (Lua allows it) is dead: every method raises a clear error rather than
-- touching the freed socket (the worker crashed with a NULL dereference), and tostring says
-- it is not connected.

local C = require("spec.support.cosocket")

describe("a socket object used after its __gc", function()
    local env, up, srv

    lazy_setup(function()
        env = C.start({ app = "tcp_edges.lua" })
        up, srv = env.up, env.srv
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    it("raises a clear error from every method", function()
        local status, body = srv:get_body("/resurrected?port=" .. up.port, 3)
        assert.are.equal(200, status, tostring(body) .. "\n" .. srv:log())
        local dead = "false lunaserve.tcp: the socket object was collected (used after its __gc)"
        local want = {}
        for _, m in ipairs({ "connect", "send", "receive", "receiveany", "receiveuntil",
            "settimeout", "settimeouts", "setoption", "setkeepalive", "getreusedtimes",
            "close" }) do
            want[#want + 1] = m .. ": " .. dead
        end
        want[#want + 1] = "tostring: lunaserve.tcp (not connected)"
        assert.are.equal(table.concat(want, "\n") .. "\n", body)
        assert.is_true(srv:alive())
    end)
end)
