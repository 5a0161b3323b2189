-- Control frames are the protocol's, not the reader's: a handler that only sends (it never
-- calls recv_frame) still has its peer's pings answered, and the peer's close is echoed at
-- once, which ends the handler's sends (RFC 6455 5.5.2, 5.5.1).
local S = require("spec.support.server")
local W = require("spec.support.ws")

-- Reads frames until one with opcode `op`; returns its payload and the ticks seen before it.
local function until_op(c, op)
    local ticks = 0
    local deadline = S.now() + 5
    while S.now() < deadline do
        local got, payload = W.read_frame(c, 5)
        assert(got, payload)
        if got == op then
            return payload, ticks
        end
        assert.are.equal(W.TEXT, got)
        assert.is_truthy(payload:match("^tick %d+$"), payload)
        ticks = ticks + 1
    end
    error("no frame with opcode " .. op)
end

describe("WebSocket control frames while the handler only sends", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_modes.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("answers a ping with its payload while the handler never reads", function()
        local c = W.open(srv, "/push")
        assert.are.equal("tick 1", select(2, W.read_frame(c, 5)))
        assert(c:send(W.frame(W.PING, "are you there")))
        assert.are.equal("are you there", (until_op(c, W.PONG)))
        c:close()
    end)

    it("echoes the peer's close and ends with FIN; no tick follows the close", function()
        local c = W.open(srv, "/push")
        assert.are.equal("tick 1", select(2, W.read_frame(c, 5)))
        assert(c:send(W.frame(W.CLOSE, W.close_payload(1000, "done"))))
        assert.are.equal(W.close_payload(1000), (until_op(c, W.CLOSE)))
        local rest, kind = c:read_until_close(5)
        assert.are.equal("", rest)
        assert.are.equal("fin", kind)
        c:close()
        -- the server goes on
        local again = W.open(srv, "/push")
        assert.are.equal("tick 1", select(2, W.read_frame(again, 5)))
        again:close()
    end)
end)
