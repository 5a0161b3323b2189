-- opts.ping_interval: a silent peer gets an (empty) ping after that long; a peer that answers
-- stays; one that sends nothing within another interval is closed.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket ping_interval", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("pings a silent peer, keeps one that answers, drops one that does not", function()
        local t0 = S.now() -- before the request: the server's clock starts after it
        local c = W.open(srv, "/?ping_interval=300")
        local ping = W.server_frame(W.PING, "")
        assert.are.equal(ping, c:receive_exact(#ping, 5))
        local took = S.now() - t0
        assert.is_true(took >= 0.25 and took < 2, "pinged after " .. took .. " s")
        local t_pong = S.now() -- the server's silence restarts after this
        assert(c:send(W.frame(W.PONG, "")))
        -- answered: pinged again after another silence, not closed
        assert.are.equal(ping, c:receive_exact(#ping, 5))
        took = S.now() - t_pong
        assert.is_true(took >= 0.25 and took < 2, "pinged again after " .. took .. " s")
        -- not answered: dropped one interval after that ping (two after the pong)
        local rest, kind = c:read_until_close(5)
        took = S.now() - t_pong
        assert.are.equal("", rest)
        assert.are_not.equal("timeout", kind)
        assert.is_true(took >= 0.55 and took < 3, "dropped " .. took .. " s after the pong")
        c:close()
    end)
end)
