-- Bare CRs (issue 9, RFC 9112 2.2): a CR not followed by LF in the head, a chunk-size line or
-- the trailer section is a 400 and a close. llhttp 8.1 took any byte after a CR at the start of
-- a line or after an empty value as the LF, so such a request was served as if the section had
-- ended there; the request line's bare CR was a 505. Every case fails on d473277 but the one
-- after chunk data (already checked) and the guard.

local S = require("spec.support.server")
local W = require("spec.support.wire")

local H, NEXT, CHUNKED, q, refused = W.H, W.NEXT, W.CHUNKED, W.q, W.refused

describe("bare CR (RFC 9112 2.2): a CR not followed by LF is a 400", function()
    local srv

    lazy_setup(function()
        srv = W.start()
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    after_each(function()
        W.still_serving(srv)
    end)

    local G = "GET /g HTTP/1.1\r\n"
    local cases = {
        { "at the end of the request line", "GET /g HTTP/1.1\rX-A: b\r\n" .. H .. "\r\n" },
        { "at the end of an HTTP/1.0 request line", "GET /g HTTP/1.0\r\rX-A: b\r\n\r\n" },
        { "at the start of a field line", G .. H .. "\rX-A: b\r\n\r\n" },
        { "after an empty field value", G .. H .. "X-A:\rY-B: b\r\n\r\n" },
        { "after a field value of spaces", G .. H .. "X-A:   \rY-B: b\r\n\r\n" },
        { "after an empty value, before the empty line", G .. H .. "X-A:\rZ\r\n" },
        { "as the empty line (CR X)", G .. H .. "\rX" },
        { "as the empty line (CR CR LF)", G .. H .. "\r\r\n" },
        { "after a chunk size", CHUNKED .. "5\rXhello\r\n0\r\n\r\n" },
        { "after a chunk extension", CHUNKED .. "5;a=b\rXhello\r\n0\r\n\r\n" },
        { "after chunk data (already refused before the fix)",
            CHUNKED .. "5\r\nhello\rX0\r\n\r\n" },
        { "after the last chunk", CHUNKED .. "5\r\nhello\r\n0\rX\r\n" },
        { "as the end of an empty trailer section", CHUNKED .. "5\r\nhello\r\n0\r\n\rX" },
        { "at the start of the line after a trailer field",
            CHUNKED .. "5\r\nhello\r\n0\r\nA: b\r\n\rX" },
        { "after an empty trailer value", CHUNKED .. "5\r\nhello\r\n0\r\nA:\rXB: c\r\n\r\n" },
    }
    for _, case in ipairs(cases) do
        it("answers 400 and closes for a bare CR " .. case[1], function()
            refused(srv, case[2] .. NEXT, 400)
        end)
    end

    it("answers 400 for a bare CR that ends one read, its next byte in the next read", function()
        for _, parts in ipairs({ { G .. H .. "\r", "X-A: b\r\n\r\n" },
            { CHUNKED .. "5\r\nhello\r\n0\r\n\r", "X" } }) do
            local c = srv:connect()
            assert(c:send(parts[1]))
            S.sleep(0.05)
            assert(c:send(parts[2] .. NEXT))
            local res = assert(c:read_response({ timeout = 3 }))
            assert.are.equal(400, res.status, q(parts[1]) .. " then " .. q(parts[2]))
            assert.is_true(res:has_token("Connection", "close"), res.raw_head)
            local extra, kind = c:read_until_close(3)
            assert.are.equal("", extra)
            assert.are.equal("fin", kind)
            c:close()
        end
    end)

    it("still serves CRLF line ends split across reads (guard)", function()
        local c = srv:connect()
        finally(function() c:close() end)
        assert(c:send(G .. H .. "X-A:\r"))
        S.sleep(0.05)
        assert(c:send("\nX-B: b\r"))
        S.sleep(0.05)
        assert(c:send("\n\r"))
        S.sleep(0.05)
        assert(c:send("\n"))
        local res = assert(c:read_response({ timeout = 3 }))
        assert.are.equal(200, res.status, res.raw)
        assert.are.equal("ok", res.body)
    end)
end)
