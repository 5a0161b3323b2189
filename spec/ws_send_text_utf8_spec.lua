-- ws:send_text refuses bytes that are not UTF-8 (RFC 6455 8.1: a text message must be; a
-- browser fails the connection on one): it returns nil, err, sends nothing, and the WebSocket
-- stays open.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket send_text", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_modes.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("refuses text that is not UTF-8 and stays open", function()
        local c = W.open(srv, "/say_bye")
        assert(c:send(W.frame(W.TEXT, "not-utf8")))
        local want = W.server_frame(W.TEXT, "not-utf8: nil text is not valid UTF-8")
        assert.are.equal(want, c:receive_exact(#want, 5))
        c:close()
    end)
end)
