-- permessage-deflate (RFC 7692) with opts.deflate = true: the negotiation's answer, the RFC's
-- own example messages inflated, our compressed answers, and the errors: RSV1 where it may
-- not be (1002), bytes that do not inflate (1007), a message that inflates past max_payload
-- (1009). Without opts.deflate an offer is ignored and RSV1 is a protocol error.
local S = require("spec.support.server")
local W = require("spec.support.ws")

local ANSWER = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

-- zlib through Python (a test dependency): raw deflate of s, or inflate of a message payload
local function python(code, input)
    local dir = S.mktempdir()
    S.write_file(dir .. "/in", input)
    local p = assert(io.popen("python3 -c " .. S.shquote(code) .. " " .. S.shquote(dir .. "/in")))
    local out = p:read("a")
    p:close()
    os.execute("rm -rf " .. S.shquote(dir))
    return out
end

local function deflate(s)
    return python([[
import sys, zlib
c = zlib.compressobj(9, zlib.DEFLATED, -15)
d = c.compress(open(sys.argv[1], "rb").read()) + c.flush(zlib.Z_SYNC_FLUSH)
assert d.endswith(b"\x00\x00\xff\xff")
sys.stdout.buffer.write(d[:-4])]], s)
end

local function inflate(s)
    return python([[
import sys, zlib
d = zlib.decompressobj(-15)
sys.stdout.buffer.write(d.decompress(open(sys.argv[1], "rb").read() + b"\x00\x00\xff\xff"))]], s)
end

-- Upgrades with the offer; returns the connection and the answer's extension header (or nil).
local function open(srv, target, offer)
    local c = srv:connect()
    assert(c:send(W.request(target, nil, offer and ("Sec-WebSocket-Extensions: " .. offer .. "\r\n"))))
    local head = assert(c:read_until("\r\n\r\n", 5))
    assert.is_truthy(head:find("^HTTP/1.1 101 "), head)
    return c, head:match("\r\nSec%-WebSocket%-Extensions: ([^\r]*)\r\n")
end

local RSV1 = 4 -- W.frame's rsv is bits 4-6 of the first byte: RSV1 is 0x40

describe("WebSocket permessage-deflate", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("answers an offer with no context takeover both ways", function()
        local cases = {
            { "permessage-deflate", ANSWER },
            { "permessage-deflate; client_max_window_bits", ANSWER },
            { "permessage-deflate; server_max_window_bits=10", ANSWER .. "; server_max_window_bits=10" },
            { 'permessage-deflate; server_max_window_bits="12"; client_max_window_bits=9', ANSWER .. "; server_max_window_bits=12" },
            { "permessage-deflate; server_no_context_takeover; client_no_context_takeover", ANSWER },
            -- a bad offer is declined; the next one is taken
            { "permessage-deflate; foo=1, permessage-deflate; client_max_window_bits", ANSWER },
            { "permessage-deflate; server_max_window_bits=16", nil },
            { "permessage-deflate; server_max_window_bits", nil },
            { "permessage-deflate; server_max_window_bits=8", nil },
            { "permessage-deflate; server_no_context_takeover; server_no_context_takeover", nil },
            { "x-webkit-deflate-frame", nil },
        }
        for _, case in ipairs(cases) do
            local c, got = open(srv, "/?deflate=1", case[1])
            assert.are.equal(case[2], got, case[1])
            c:close()
        end
        -- the app did not ask for it: no answer
        local c, got = open(srv, "/", "permessage-deflate")
        assert.is_nil(got)
        c:close()
    end)

    it("inflates the RFC's examples: one block, a stored block, BFINAL, two blocks, fragments", function()
        local c = open(srv, "/?deflate=1", "permessage-deflate")
        local examples = {
            "\xf2\x48\xcd\xc9\xc9\x07\x00",                         -- 7.2.3.1
            "\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00",         -- 7.2.3.3
            "\xf3\x48\xcd\xc9\xc9\x07\x00\x00",                     -- 7.2.3.4
            "\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00", -- 7.2.3.5
        }
        for _, payload in ipairs(examples) do
            assert(c:send(W.frame(W.TEXT, payload, { rsv = RSV1 })))
            -- "Hello" is under 64 bytes: it comes back uncompressed
            assert.are.equal(W.server_frame(W.TEXT, "Hello"), c:receive_exact(7, 5))
        end
        -- 7.2.3.1 in two fragments: RSV1 on the first only
        assert(c:send(W.frame(W.TEXT, "\xf2\x48\xcd", { rsv = RSV1, fin = false })
            .. W.frame(W.CONT, "\xc9\xc9\x07\x00")))
        assert.are.equal(W.server_frame(W.TEXT, "Hello"), c:receive_exact(7, 5))
        -- an uncompressed message on the same connection
        assert(c:send(W.frame(W.TEXT, "plain")))
        assert.are.equal(W.server_frame(W.TEXT, "plain"), c:receive_exact(7, 5))
        c:close()
    end)

    it("compresses what it sends (64 bytes and more), which inflates back exactly", function()
        local c = open(srv, "/?deflate=1", "permessage-deflate")
        local text = string.rep("lunaserve compresses this line. ", 200) -- 6400 bytes
        assert(c:send(W.frame(W.TEXT, deflate(text), { rsv = RSV1 })))
        local h = assert(c:receive_exact(2, 5))
        assert.are.equal(0xc1, h:byte(1)) -- FIN, RSV1, text
        local len = h:byte(2)
        assert.is_true(len < 126, "compressed to " .. len .. " bytes")
        local payload = c:receive_exact(len, 5)
        assert.are.equal(text, inflate(payload))
        c:close()
    end)

    it("closes with 1002 for RSV1 on a continuation or a control frame", function()
        for _, bytes in ipairs({
            W.frame(W.TEXT, "a", { fin = false }) .. W.frame(W.CONT, "b", { rsv = RSV1 }),
            W.frame(W.PING, "", { rsv = RSV1 }),
        }) do
            local c = open(srv, "/?deflate=1", "permessage-deflate")
            assert(c:send(bytes))
            local rest, kind = c:read_until_close(5)
            assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1002)), rest)
            assert.are.equal("fin", kind)
            c:close()
        end
    end)

    it("closes with 1002 for RSV1 when the extension was not negotiated", function()
        local c = open(srv, "/", "permessage-deflate")
        assert(c:send(W.frame(W.TEXT, "\xf2\x48\xcd\xc9\xc9\x07\x00", { rsv = RSV1 })))
        local rest, kind = c:read_until_close(5)
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1002)), rest)
        assert.are.equal("fin", kind)
        c:close()
    end)

    it("closes with 1007 for bytes that do not inflate, and for inflated text that is not UTF-8", function()
        for _, payload in ipairs({ "\xff\xff\xff\xff", deflate("bad \xff byte") }) do
            local c = open(srv, "/?deflate=1", "permessage-deflate")
            assert(c:send(W.frame(W.TEXT, payload, { rsv = RSV1 })))
            local rest, kind = c:read_until_close(5)
            assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1007)), rest)
            assert.are.equal("fin", kind)
            c:close()
        end
    end)

    it("closes with 1009 for a message that inflates past max_payload", function()
        local c = open(srv, "/?deflate=1&max_payload=100000", "permessage-deflate")
        local bomb = deflate(string.rep("\0", 1000000)) -- about 1 KB on the wire
        assert.is_true(#bomb < 2000)
        assert(c:send(W.frame(W.BINARY, bomb, { rsv = RSV1 })))
        local rest, kind = c:read_until_close(5)
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1009)), rest)
        assert.are.equal("fin", kind)
        c:close()
    end)
end)
