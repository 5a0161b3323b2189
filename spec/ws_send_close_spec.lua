-- ws:send_close(code, reason): our close frame carries the code and the reason (cut at 123
-- bytes, on a character boundary); nothing is sent after it; the peer's answer ends the
-- connection with FIN. A code that may not be sent (1005) is refused.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket send_close", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_modes.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function status()
        local code, body = srv:get_body("/status", 3)
        assert.are.equal(200, code)
        return body
    end

    it("sends the code and reason, then nothing but the end", function()
        local c = W.open(srv, "/say_bye")
        assert(c:send(W.frame(W.TEXT, "bye")))
        local want = W.server_frame(W.CLOSE, W.close_payload(4000, "see you"))
        assert.are.equal(want, c:receive_exact(#want, 5))
        assert.is_truthy(S.wait_for(function() return status() ~= "none" end, 3))
        assert.are.equal("send_close 9 nil", status())
        assert(c:send(W.frame(W.CLOSE, W.close_payload(4000))))
        local rest, kind = c:read_until_close(5)
        assert.are.equal("", rest) -- the text after send_close never went out
        assert.are.equal("fin", kind)
        c:close()
    end)

    it("refuses 1005 (a code for reports only) and stays open", function()
        local c = W.open(srv, "/say_bye")
        assert(c:send(W.frame(W.TEXT, "bad-code")))
        local want = W.server_frame(W.TEXT, "bad-code: nil invalid close code or reason")
        assert.are.equal(want, c:receive_exact(#want, 5))
        c:close()
    end)

    it("cuts a long reason to 123 bytes at a character boundary", function()
        local c = W.open(srv, "/say_bye")
        assert(c:send(W.frame(W.TEXT, "long")))
        local op, payload = W.read_frame(c, 5)
        assert.are.equal(W.CLOSE, op)
        -- 61 two-byte characters fit in 123 bytes (the 62nd would end at 124)
        assert.are.equal(W.close_payload(1000, string.rep("é", 61)), payload)
        assert.are.equal("long 124 nil", status())
        c:close()
    end)
end)
