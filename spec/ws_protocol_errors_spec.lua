-- Frames that break RFC 6455's framing rules close with 1002 (protocol error), then FIN:
-- a control frame over 125 bytes, a fragmented control frame, an unknown opcode, a
-- continuation with no message, a new message inside a fragmented one, a length not in its
-- shortest form.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket protocol errors", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function closes_with_1002(bytes)
        local rest, kind = W.until_end(srv, bytes)
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1002)), rest)
        assert.are.equal("fin", kind)
    end

    it("a ping of 126 bytes", function()
        closes_with_1002(W.frame(W.PING, string.rep("p", 126)))
    end)

    it("a ping without FIN", function()
        closes_with_1002(W.frame(W.PING, "p", { fin = false }))
    end)

    it("opcode 3 (reserved)", function()
        closes_with_1002(W.frame(3, "x"))
    end)

    it("a continuation with no message", function()
        closes_with_1002(W.frame(W.CONT, "x"))
    end)

    it("a text frame inside a fragmented message", function()
        closes_with_1002(W.frame(W.TEXT, "a", { fin = false }) .. W.frame(W.TEXT, "b"))
    end)

    it("a 5-byte payload announced with a 16-bit length", function()
        -- FIN+text, mask bit + 126, length 5 in 16 bits, a zero mask, "hello"
        closes_with_1002("\x81\xfe\x00\x05\0\0\0\0hello")
    end)
end)
