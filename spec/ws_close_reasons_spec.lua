-- A WebSocket's end has a close reason of its own in the log and the metrics: a peer that
-- never answers our close ("close-timeout"), a peer silent after our ping ("ping-timeout", also
-- while the handler only sends), the close handshake ("finish-close"), a protocol error.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket close reasons", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_modes.lua"), args = { "--log-level", "debug" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function logged(why)
        return S.wait_for(function()
            return srv:log():find(": close (" .. why, 1, true) ~= nil
        end, 3)
    end

    it("ping-timeout: pings while the handler only sends; no pong closes it", function()
        local c = W.open(srv, "/push?ping_interval=200")
        local t0 = S.now()
        local pinged = false
        while S.now() - t0 < 5 do
            local op, payload = W.read_frame(c, 5)
            if not op then
                break -- the end
            end
            if op == W.PING then
                pinged = true
                assert.are.equal("", payload)
            end
        end
        assert.is_true(pinged, "no ping came")
        assert.is_truthy(logged("ping-timeout"), srv:log())
        c:close()
    end)

    it("close-timeout: a peer that never answers our close", function()
        local c = W.open(srv, "/say_bye?close_timeout=300")
        assert(c:send(W.frame(W.TEXT, "bye")))
        local op = W.read_frame(c, 5)
        assert.are.equal(W.CLOSE, op)
        local rest, kind = c:read_until_close(5) -- no answer from us
        assert.are.equal("", rest)
        assert.are.equal("fin", kind)
        assert.is_truthy(logged("close-timeout"), srv:log())
        c:close()
    end)
end)
