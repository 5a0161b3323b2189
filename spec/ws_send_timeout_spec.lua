-- The transport's send timeout holds on a WebSocket: a peer that takes nothing while output
-- waits is dropped after --send-timeout, and the handler waiting in a send gets nil, "closed".
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket send timeout", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_modes.lua"),
            args = { "--log-level", "debug", "--send-timeout", "0.5" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("drops a peer that reads nothing; the waiting send returns nil, 'closed'", function()
        local c = W.open(srv, "/owner_flood")
        local status
        assert.is_truthy(S.wait_for(function()
            local code, body = srv:get_body("/status", 3)
            status = body
            return code == 200 and body:match("^sent") ~= nil
        end, 8), tostring(status))
        local n = tonumber(status:match("^sent (%d+): closed$"))
        assert.is_truthy(n, status)
        assert.is_true(n >= 1 and n < 400, status) -- held back by the high-water mark
        assert.is_truthy(srv:log():find(": close (send-timeout", 1, true), srv:log())
        local _, kind = c:read_until_close(5)
        assert.are.equal("reset", kind)
        c:close()
    end)
end)
