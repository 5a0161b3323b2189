-- A client's ping is answered with a pong carrying the same payload (auto_pong), before the
-- messages that follow it; an empty ping gets an empty pong.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket ping", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("answers a ping with a pong of the same payload", function()
        local c = W.open(srv)
        assert(c:send(W.frame(W.PING, "are you there?") .. W.frame(W.PING, "")
            .. W.frame(W.TEXT, "after")))
        local want = W.server_frame(W.PONG, "are you there?") .. W.server_frame(W.PONG, "")
            .. W.server_frame(W.TEXT, "after")
        assert.are.equal(want, c:receive_exact(#want, 5))
        c:close()
    end)
end)
