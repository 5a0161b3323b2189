-- Our close waits close_timeout for the peer's answer (RFC 6455 7.1.1): a peer that never
-- answers is dropped after it. (The close here is the handler's end after a recv timeout.)
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket close timeout", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("drops a peer that does not answer our close within close_timeout", function()
        local c = W.open(srv, "/?timeout=100&close_timeout=400")
        local want = W.server_frame(W.CLOSE, W.close_payload(1000))
        assert.are.equal(want, c:receive_exact(#want, 5))
        local t0 = S.now()
        -- messages after our close are not echoed
        assert(c:send(W.frame(W.TEXT, "ignored")))
        local rest, kind = c:read_until_close(5)
        local took = S.now() - t0
        assert.are.equal("", rest)
        assert.are.equal("fin", kind)
        assert.is_true(took >= 0.3 and took < 2, "dropped after " .. took .. " s")
        c:close()
    end)

    it("keeps to close_timeout when a later ping is due (the deadline moves earlier)", function()
        local c = W.open(srv, "/?timeout=100&close_timeout=400&ping_interval=3000")
        local want = W.server_frame(W.CLOSE, W.close_payload(1000))
        assert.are.equal(want, c:receive_exact(#want, 5))
        local t0 = S.now()
        local rest, kind = c:read_until_close(6)
        local took = S.now() - t0
        assert.are.equal("", rest)
        assert.are.equal("fin", kind)
        assert.is_true(took >= 0.2 and took < 2, "dropped after " .. took .. " s")
        c:close()
    end)
end)
