-- opts.auto_pong = false: pings go to the handler (recv_frame returns data, "ping") and the
-- server sends no pong of its own; the handler's send_pong answers.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket with auto_pong = false", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_modes.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("hands pings to the handler, which answers them itself", function()
        local c = W.open(srv, "/app_pong")
        assert(c:send(W.frame(W.PING, "abc") .. W.frame(W.TEXT, "t") .. W.frame(W.PING, "")))
        local want = W.server_frame(W.PONG, "abc!") .. W.server_frame(W.TEXT, "text:t")
            .. W.server_frame(W.PONG, "!")
        assert.are.equal(want, c:receive_exact(#want, 5))
        -- nothing else: no automatic pong
        assert.is_nil(c:receive_exact(1, 0.3))
        c:close()
    end)
end)
