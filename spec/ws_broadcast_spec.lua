-- Sending to other connections (the chat pattern): a message one client sends reaches every
-- open WebSocket, sent from the sender's handler to the others' connections.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket broadcast", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_broadcast.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("a message from one reaches all three", function()
        local joined = W.server_frame(W.TEXT, "joined")
        local cs = {}
        for i = 1, 3 do
            cs[i] = W.open(srv)
            assert.are.equal(joined, cs[i]:receive_exact(#joined, 5))
        end
        assert(cs[2]:send(W.frame(W.TEXT, "hello all")))
        local want = W.server_frame(W.TEXT, "hello all")
        for i = 1, 3 do
            assert.are.equal(want, cs[i]:receive_exact(#want, 5))
        end
        -- one leaves; the others still get messages
        assert(cs[1]:send(W.frame(W.CLOSE, W.close_payload(1000))))
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1000)), cs[1]:receive_exact(4, 5))
        cs[1]:close()
        assert(cs[3]:send(W.frame(W.TEXT, "still here")))
        want = W.server_frame(W.TEXT, "still here")
        for i = 2, 3 do
            assert.are.equal(want, cs[i]:receive_exact(#want, 5))
            cs[i]:close()
        end
    end)
end)
