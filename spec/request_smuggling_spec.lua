-- The framing of a request body (RFC 9112 sections 6.1 and 6.3): a message whose length is in
-- doubt (Content-Length with Transfer-Encoding, conflicting or malformed lengths, bad chunk
-- sizes or chunk ends, chunked not last) is refused with 400, an unknown transfer coding with
-- 501; an HTTP/1.0 message with Transfer-Encoding ends its connection. A server that guessed
-- here could be made to read a second, smuggled request out of a body.
--
-- A refusal (S.refused) is the status line, a response that says Connection: close, nothing
-- after it (a request pipelined behind the bad one is never answered), then a FIN, not a reset.

local S = require("spec.support.server")
local cjson = require("cjson")

local APP = S.app("echo_late_read.lua")
local ECHO = S.root .. "/apps/echo"

local H = "Host: 127.0.0.1\r\n"
local NEXT = "GET /bytes/1 HTTP/1.1\r\n" .. H .. "\r\n" -- a request pipelined behind

local q = S.q

-- How these refusals were checked before they moved here: the response within 5 s, and no look
-- for a keep-alive token in its Connection field.
local REFUSAL = { timeout = 5, keep_alive_token_ok = true }

describe("request body framing (RFC 9112 6.1, 6.3)", function()
    describe("on a server with tight limits", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = APP, args = S.TIGHT_LIMITS })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        after_each(function()
            -- whatever happened, the server still serves
            local res = assert(srv:fetch(S.get("/bytes/2")))
            assert.are.equal("xx", res.body)
        end)

        it("answers 400 and closes for Content-Length together with Transfer-Encoding", function()
            -- CL.TE: the 5 bytes "0\r\n\r\n" end the chunked body; by Content-Length they are
            -- the body and the GET behind them would be a second request.
            srv:refused("POST /echo HTTP/1.1\r\n" .. H .. "Content-Length: 5\r\n"
                .. "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for two differing Content-Length fields", function()
            srv:refused("POST /echo HTTP/1.1\r\n" .. H .. "Content-Length: 6\r\n"
                .. "Content-Length: 5\r\n\r\nhello!" .. NEXT, 400)
        end)

        it("answers 400 and closes for Content-Length: 5, 6", function()
            srv:refused("POST /echo HTTP/1.1\r\n" .. H .. "Content-Length: 5, 6\r\n\r\n"
                .. "hello!" .. NEXT, 400)
        end)

        it("answers 400 and closes for a chunk size that is not hex (0x5)", function()
            srv:refused("POST /echo HTTP/1.1\r\n" .. H .. "Transfer-Encoding: chunked\r\n\r\n"
                .. "0x5\r\nhello\r\n0\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for a chunk size that overflows 64 bits", function()
            -- 0x10000000000000000 = 2^64: wrapped to 0 it would end the body at once and
            -- "hello..." would be read as the next request.
            srv:refused("POST /echo HTTP/1.1\r\n" .. H .. "Transfer-Encoding: chunked\r\n\r\n"
                .. "10000000000000000\r\nhello\r\n0\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for chunk data not followed by CRLF", function()
            srv:refused("POST /echo HTTP/1.1\r\n" .. H .. "Transfer-Encoding: chunked\r\n\r\n"
                .. "5\r\nhelloXX0\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes when chunked is not the last transfer coding", function()
            -- RFC 9112 6.3 item 4: the length cannot be determined; 400 and close.
            srv:refused("POST /echo HTTP/1.1\r\n" .. H .. "Transfer-Encoding: chunked, gzip\r\n"
                .. "\r\n5\r\nhello\r\n0\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 501 and closes for a transfer coding it does not implement (gzip alone)",
            function()
                -- RFC 9112 6.1: a server that receives a transfer coding it does not understand
                -- SHOULD respond with 501 (and README: "501 for an unknown transfer coding").
                srv:refused("POST /echo HTTP/1.1\r\n" .. H .. "Transfer-Encoding: gzip\r\n\r\n"
                    .. "hello" .. NEXT, 501)
            end)

        it("closes after an HTTP/1.0 request with Transfer-Encoding and Content-Length (RFC 9112 6.1)",
            function()
                -- "MUST treat the message as if the framing is faulty, even if a
                -- Content-Length is present, and close the connection after processing"
                local c = srv:connect()
                assert(c:send("POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 5\r\n"
                    .. "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                    .. "GET /bytes/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
                local res = assert(c:read_response())
                if res.status == 200 then
                    -- processed: Transfer-Encoding overrides Content-Length
                    assert.are.equal("hello", cjson.decode(res.body).body)
                else
                    assert.are.equal(400, res.status, q(res.raw))
                end
                assert.is_true(res:has_token("Connection", "close"), res.raw_head)
                local extra, kind
                if res.framing == "close" then
                    extra, kind = "", res.end_kind
                else
                    extra, kind = c:read_until_close(3)
                end
                assert.are.equal("", extra, "the pipelined request was answered")
                assert.are.equal("fin", kind)
                c:close()
            end)
    end)

    describe("on a server with the default limits", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = ECHO })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        after_each(function()
            -- whatever was refused, the server keeps serving
            local res = assert(srv:fetch(S.get("/bytes/2")))
            assert.are.equal("xx", res.body)
        end)

        it("answers 400 and closes for an invalid Content-Length", function()
            srv:refused("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: abc\r\n\r\n", 400, REFUSAL)
        end)

        it("answers 400 and closes for a negative Content-Length", function()
            srv:refused("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: -1\r\n\r\n", 400, REFUSAL)
        end)

        it("answers 400 and closes for an invalid chunk size", function()
            srv:refused("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400, REFUSAL)
        end)

        it("answers 501 and closes for an unknown transfer coding before chunked", function()
            srv:refused("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Transfer-Encoding: foo, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501, REFUSAL)
        end)

        it("closes after an HTTP/1.0 request with Transfer-Encoding (RFC 9112 6.1)", function()
            local c = srv:connect()
            assert(c:send("POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n"
                .. "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                .. "GET /bytes/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
            local res = assert(c:read_response())
            assert.is_true(res.status == 200 or res.status == 400, res.status_line)
            assert.is_true(res:has_token("Connection", "close"))
            local extra, kind = c:read_until_close(3)
            assert.are.equal("", extra)
            assert.are_not.equal("timeout", kind)
            c:close()
        end)
    end)
end)
