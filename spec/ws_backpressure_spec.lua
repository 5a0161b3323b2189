-- Sends wait while the output is over the high-water mark (as res:drain() does): a peer that
-- does not read holds the sender back, and set_timeout bounds that wait (the send returns
-- nil, "timeout"). Everything queued before still arrives, in order, once the peer reads.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket backpressure", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_flood.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("holds a sender back while its peer does not read; the wait times out", function()
        local c = W.open(srv, "/?timeout=400")
        S.sleep(1.5) -- not reading: the sender blocks, then its send times out
        local n = 0
        local piece = string.rep("f", 65536)
        local op, payload
        while true do
            op, payload = W.read_frame(c, 10)
            assert(op, payload)
            if op ~= W.BINARY then
                break
            end
            assert.are.equal(piece, payload)
            n = n + 1
        end
        assert.are.equal(W.TEXT, op)
        assert.are.equal("stopped at " .. n .. ": timeout", payload)
        -- held back: far fewer than the 2000 it would send (the kernel's socket buffers and
        -- the high-water mark hold a few MiB on loopback)
        assert.is_true(n > 0 and n < 400, n .. " messages went out before the block")
        -- the handler ended: close 1000
        op, payload = W.read_frame(c, 10)
        assert.are.equal(W.CLOSE, op)
        assert.are.equal(W.close_payload(1000), payload)
        assert(c:send(W.frame(W.CLOSE, W.close_payload(1000))))
        local rest, kind = c:read_until_close(5)
        assert.are.equal("", rest)
        assert.are.equal("fin", kind)
        c:close()
    end)
end)
