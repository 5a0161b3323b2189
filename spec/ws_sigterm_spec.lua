-- SIGTERM sends 1001 (going away) to every WebSocket; a client that answers the close gets
-- FIN, and the server exits cleanly, well within the shutdown timeout.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket at SIGTERM", function()
    it("closes every WebSocket with 1001, then exits 0", function()
        local srv = S.start({ app = W.APP })
        local a, b = W.open(srv), W.open(srv)
        -- both are live: an echo each
        assert(a:send(W.frame(W.TEXT, "a")))
        assert.are.equal(W.server_frame(W.TEXT, "a"), a:receive_exact(3, 5))
        assert(b:send(W.frame(W.TEXT, "b")))
        assert.are.equal(W.server_frame(W.TEXT, "b"), b:receive_exact(3, 5))
        local t0 = S.now()
        srv:signal("TERM")
        local want = W.server_frame(W.CLOSE, W.close_payload(1001))
        for _, c in ipairs({ a, b }) do
            assert.are.equal(want, c:receive_exact(#want, 5))
            assert(c:send(W.frame(W.CLOSE, W.close_payload(1001))))
            local rest, kind = c:read_until_close(5)
            assert.are.equal("", rest)
            assert.are.equal("fin", kind)
            c:close()
        end
        assert.are.equal(0, srv:wait_exit(5))
        assert.is_true(S.now() - t0 < 3, "exit took " .. (S.now() - t0) .. " s")
        srv:stop_ok() -- exited already: status 0 and no sanitizer report in its log
    end)

    it("sees the answer to its 1001 from a peer whose message the handler has not read", function()
        -- /push never reads: the peer's message is held, which pauses reading; the close
        -- handshake must still complete at once (not at the 5 s close timeout)
        local srv = S.start({ app = S.app("ws_modes.lua") })
        local c = W.open(srv, "/push")
        assert(c:send(W.frame(W.TEXT, "never read")))
        S.sleep(0.1)
        local t0 = S.now()
        srv:signal("TERM")
        local deadline = S.now() + 5
        local op, payload
        repeat -- ticks may come first
            op, payload = W.read_frame(c, 5)
            assert(op, payload)
        until op == W.CLOSE or S.now() > deadline
        assert.are.equal(W.close_payload(1001), payload)
        assert(c:send(W.frame(W.CLOSE, W.close_payload(1001))))
        local rest, kind = c:read_until_close(5)
        assert.are.equal("", rest)
        assert.are.equal("fin", kind)
        c:close()
        assert.are.equal(0, srv:wait_exit(5))
        assert.is_true(S.now() - t0 < 2, "exit took " .. (S.now() - t0) .. " s")
        srv:stop_ok()
    end)
end)
