-- Every kind of client frame may arrive cut anywhere: for each frame below, each split point
-- is tried (the first part, a pause, the rest) on one connection, and the answer is exact.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket frames split at every byte boundary", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    -- sends `bytes` cut at each point in turn and expects `want` for each
    local function every_split(c, bytes, want)
        for cut = 1, #bytes - 1 do
            assert(c:send(bytes:sub(1, cut)))
            S.sleep(0.003)
            assert(c:send(bytes:sub(cut + 1)))
            local got = c:receive_exact(#want, 5)
            assert.are.equal(want, got, "cut after byte " .. cut)
        end
    end

    it("a ping with a payload", function()
        local c = W.open(srv)
        every_split(c, W.frame(W.PING, "ping payload"), W.server_frame(W.PONG, "ping payload"))
        c:close()
    end)

    it("a binary frame with a 16-bit length", function()
        local c = W.open(srv)
        local msg = string.rep("\0\255", 100)
        every_split(c, W.frame(W.BINARY, msg), W.server_frame(W.BINARY, msg))
        c:close()
    end)

    it("a fragmented text message with a ping between its frames, and UTF-8 cut in two", function()
        local c = W.open(srv)
        local bytes = W.frame(W.TEXT, "a\xc3", { fin = false }) .. W.frame(W.PING, "p")
            .. W.frame(W.CONT, "\xa9b")
        every_split(c, bytes, W.server_frame(W.PONG, "p") .. W.server_frame(W.TEXT, "aéb"))
        c:close()
    end)

    it("a close frame with a code and a reason, on fresh connections", function()
        local bytes = W.frame(W.CLOSE, W.close_payload(1000, "bye"))
        for cut = 1, #bytes - 1 do
            local c = W.open(srv)
            assert(c:send(bytes:sub(1, cut)))
            S.sleep(0.003)
            assert(c:send(bytes:sub(cut + 1)))
            local want = W.server_frame(W.CLOSE, W.close_payload(1000))
            assert.are.equal(want, c:receive_exact(#want, 5), "cut after byte " .. cut)
            local rest, kind = c:read_until_close(5)
            assert.are.equal("", rest)
            assert.are.equal("fin", kind)
            c:close()
        end
    end)
end)
