-- A handler that fails after the upgrade (its code raises, or its budget stops it): the error
-- is logged with file and line, and its WebSocket closes with 1011 (internal error, RFC 6455
-- 7.4.1), not 1000; the close handshake then ends with FIN, and the server goes on.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket whose handler fails", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_modes.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("closes with 1011 and logs the error with its line", function()
        local c = W.open(srv, "/raise")
        assert(c:send(W.frame(W.TEXT, "hi")))
        local want = W.server_frame(W.CLOSE, W.close_payload(1011))
        assert.are.equal(want, c:receive_exact(#want, 5))
        assert(c:send(W.frame(W.CLOSE, W.close_payload(1011))))
        local rest, kind = c:read_until_close(5)
        assert.are.equal("", rest)
        assert.are.equal("fin", kind)
        c:close()
        assert.is_truthy(srv:log():find("ws_modes.lua:149: boom after hi", 1, true), srv:log())
        -- the server goes on
        local again = W.open(srv, "/app_pong")
        assert(again:send(W.frame(W.TEXT, "still")))
        local echo = W.server_frame(W.TEXT, "text:still")
        assert.are.equal(echo, again:receive_exact(#echo, 5))
        again:close()
    end)
end)
