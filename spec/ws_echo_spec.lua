-- apps/ws-echo over a raw socket: text and binary messages come back as they were sent, with
-- the shortest length forms (7, 16 and 64 bits), whether the client's frame arrives whole,
-- split at every byte, fragmented, or as many frames in one write.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket echo", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("echoes a text and a binary message", function()
        local c = W.open(srv)
        assert(c:send(W.frame(W.TEXT, "héllo")))
        assert.are.equal(W.server_frame(W.TEXT, "héllo"), c:receive_exact(#"héllo" + 2, 5))
        local bin = "\0\1\2\255\254"
        assert(c:send(W.frame(W.BINARY, bin)))
        assert.are.equal(W.server_frame(W.BINARY, bin), c:receive_exact(#bin + 2, 5))
        c:close()
    end)

    it("echoes 200 bytes (16-bit length) and 60000 bytes, and 70000 (64-bit length)", function()
        local c = W.open(srv, "/?max_payload=100000")
        for _, n in ipairs({ 200, 60000, 70000 }) do
            local msg = string.rep("abcdefg", n // 7 + 1):sub(1, n)
            assert(c:send(W.frame(W.BINARY, msg)))
            local want = W.server_frame(W.BINARY, msg)
            assert.are.equal(want, c:receive_exact(#want, 5))
        end
        c:close()
    end)

    it("echoes a frame sent one byte at a time", function()
        local c = W.open(srv)
        local f = W.frame(W.TEXT, "split at every byte")
        for i = 1, #f do
            assert(c:send(f:sub(i, i)))
            S.sleep(0.002)
        end
        local want = W.server_frame(W.TEXT, "split at every byte")
        assert.are.equal(want, c:receive_exact(#want, 5))
        c:close()
    end)

    it("echoes a fragmented message whole, with a ping between its fragments", function()
        local c = W.open(srv)
        assert(c:send(W.frame(W.TEXT, "one ", { fin = false }) .. W.frame(W.PING, "p")
            .. W.frame(W.CONT, "two ", { fin = false }) .. W.frame(W.CONT, "three")))
        local want = W.server_frame(W.PONG, "p") .. W.server_frame(W.TEXT, "one two three")
        assert.are.equal(want, c:receive_exact(#want, 5))
        c:close()
    end)

    it("echoes 10,000 tiny frames sent in one write, in order", function()
        local c = W.open(srv)
        local out, want = {}, {}
        for i = 1, 10000 do
            local s = tostring(i)
            out[i] = W.frame(W.TEXT, s)
            want[i] = W.server_frame(W.TEXT, s)
        end
        assert(c:send(table.concat(out), 10))
        local w = table.concat(want)
        assert.are.equal(w, c:receive_exact(#w, 10))
        c:close()
    end)
end)
