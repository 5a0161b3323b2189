-- A message over max_payload closes with 1009 (message too big), before any of its payload
-- is echoed; one of exactly max_payload bytes is echoed.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket max_payload", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("echoes 10 bytes and closes with 1009 for 11", function()
        local c = W.open(srv, "/?max_payload=10")
        assert(c:send(W.frame(W.TEXT, "0123456789")))
        assert.are.equal(W.server_frame(W.TEXT, "0123456789"), c:receive_exact(12, 5))
        assert(c:send(W.frame(W.TEXT, "0123456789A")))
        local rest, kind = c:read_until_close(5)
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1009)), rest)
        assert.are.equal("fin", kind)
        c:close()
    end)
end)
