-- Text must be UTF-8 (RFC 6455 8.1): invalid bytes close with 1007, also when the message is
-- split across fragments and the bad byte is in a later one; a character split across
-- fragments is fine.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket UTF-8", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("closes with 1007 for invalid UTF-8 in a text message", function()
        local rest, kind = W.until_end(srv, W.frame(W.TEXT, "bad \xC0\xAF"))
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1007)), rest)
        assert.are.equal("fin", kind)
    end)

    it("accepts a character split across fragments, and fails a bad byte in a later one",
        function()
            local c = W.open(srv)
            assert(c:send(W.frame(W.TEXT, "\xE2\x82", { fin = false })
                .. W.frame(W.CONT, "\xAC")))
            local want = W.server_frame(W.TEXT, "\xE2\x82\xAC")
            assert.are.equal(want, c:receive_exact(#want, 5))
            assert(c:send(W.frame(W.TEXT, "fine so far", { fin = false })
                .. W.frame(W.CONT, " then \xFF")))
            local rest, kind = c:read_until_close(5)
            assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1007)), rest)
                assert.are.equal("fin", kind)
            c:close()
        end)
end)
