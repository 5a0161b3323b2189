-- A handler that is not in recv_frame when messages arrive gets them later, whole and in
-- order: the protocol holds one message, stops reading (backpressure on the peer), and goes
-- on when the handler reads. Pings that arrive before the held message are answered at once.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket messages for a handler that reads late", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_modes.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("keeps messages that arrive while the handler is busy, in order", function()
        local c = W.open(srv, "/slow")
        local t0 = S.now()
        -- a ping first (answered at once), then three messages, one of them fragmented
        assert(c:send(W.frame(W.PING, "now") .. W.frame(W.TEXT, "one")
            .. W.frame(W.BINARY, "tw", { fin = false }) .. W.frame(W.CONT, "o")
            .. W.frame(W.TEXT, "three")))
        local pong = W.server_frame(W.PONG, "now")
        assert.are.equal(pong, c:receive_exact(#pong, 5))
        assert.is_true(S.now() - t0 < 0.25, "the pong waited for the handler")
        local want = W.server_frame(W.TEXT, "text:one") .. W.server_frame(W.TEXT, "binary:two")
            .. W.server_frame(W.TEXT, "text:three")
        assert.are.equal(want, c:receive_exact(#want, 5))
        assert.is_true(S.now() - t0 >= 0.85, "three reads 300 ms apart")
        c:close()
    end)

    it("reads a message that came before the peer's close, then the close", function()
        local c = W.open(srv, "/slow")
        assert(c:send(W.frame(W.TEXT, "last") .. W.frame(W.CLOSE, W.close_payload(1001))))
        -- the message is held until the handler reads it (its answer goes out), then the
        -- close behind it is read and echoed
        local want = W.server_frame(W.TEXT, "text:last")
        assert.are.equal(want, c:receive_exact(#want, 5))
        local op, payload = W.read_frame(c, 5)
        assert.are.equal(W.CLOSE, op)
        assert.are.equal(W.close_payload(1001), payload)
        local rest, kind = c:read_until_close(5)
        assert.are.equal("", rest)
        assert.are.equal("fin", kind)
        c:close()
    end)
end)
