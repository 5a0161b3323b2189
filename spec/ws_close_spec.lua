-- The close handshake (RFC 6455 5.5.1, 7.1.2): the server echoes the client's close code (an
-- empty close with an empty one), sends nothing after it, then ends the TCP connection (FIN).
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket close", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("echoes the code, then FIN", function()
        local rest, kind = W.until_end(srv, W.frame(W.CLOSE, W.close_payload(1000, "bye")))
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1000)), rest)
        assert.are.equal("fin", kind)
    end)

    it("echoes application code 4321", function()
        local rest, kind = W.until_end(srv, W.frame(W.CLOSE, W.close_payload(4321)))
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(4321)), rest)
        assert.are.equal("fin", kind)
    end)

    it("answers an empty close with an empty close, and ignores a message after it", function()
        local rest, kind = W.until_end(srv, W.frame(W.CLOSE, "") .. W.frame(W.TEXT, "too late"))
        assert.are.equal(W.server_frame(W.CLOSE, ""), rest)
        assert.are.equal("fin", kind)
    end)

    it("closes with 1002 for a close code not valid on the wire (1005)", function()
        local rest, kind = W.until_end(srv, W.frame(W.CLOSE, W.close_payload(1005)))
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1002)), rest)
        assert.are.equal("fin", kind)
    end)
end)
