-- opts.timeout bounds ws:recv_frame(): with nothing from the client, recv_frame returns
-- nil, nil, "timeout"; apps/ws-echo's handler then ends, and a WebSocket whose handler ended
-- closes with 1000.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket recv_frame timeout", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("times out after 300 ms; the handler's end sends close 1000", function()
        local t0 = S.now() -- before the request: the server's clock starts after it
        local c = W.open(srv, "/?timeout=300")
        local want = W.server_frame(W.CLOSE, W.close_payload(1000))
        assert.are.equal(want, c:receive_exact(#want, 5))
        local took = S.now() - t0
        assert.is_true(took >= 0.25 and took < 2, "closed after " .. took .. " s")
        -- the close is answered: the server ends the connection
        assert(c:send(W.frame(W.CLOSE, W.close_payload(1000))))
        local rest, kind = c:read_until_close(5)
        assert.are.equal("", rest)
        assert.are.equal("fin", kind)
        c:close()
    end)
end)
