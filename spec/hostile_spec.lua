-- Hostile and odd input (issue 3, "Hostile and odd input (RFC 9112)"): request smuggling
-- shapes, malformed field lines, Host rules, Expect, the target and head limits, HTTP/1.0 with
-- Transfer-Encoding, Upgrade, absolute-form. Unless a test says otherwise a refusal is the
-- status line, a response that says Connection: close, nothing after it (a request pipelined
-- behind the bad one is never answered), and then a FIN (not a reset: the server drains what
-- the client sent, RFC 9112 9.6).
--
-- errors_spec.lua already covers some of these with looser checks (e.g. it accepts 200 for
-- Content-Length with Transfer-Encoding, or any end of the connection); here each refusal is
-- checked for the exact status, for nothing more on the wire, and for the FIN.

local S = require("spec.support.server")
local cjson = require("cjson")

local APP = S.app("echo_late_read.lua")

local H = "Host: 127.0.0.1\r\n"
local NEXT = "GET /bytes/1 HTTP/1.1\r\n" .. H .. "\r\n" -- a request pipelined behind

local function q(s)
    return string.format("%q", s)
end

-- Sends `raw` on a fresh connection and checks the refusal (see the top of the file).
local function refused(srv, raw, status)
    local c = srv:connect()
    assert(c:send(raw))
    local res, err, partial = c:read_response({ timeout = 3 })
    assert.is_truthy(res, "no response to " .. q(raw) .. ": " .. tostring(err) .. " got "
        .. q(partial and partial.raw or ""))
    assert.are.equal("HTTP/1.1", res.version, res.status_line)
    assert.are.equal(status, res.status, "for " .. q(raw) .. " got " .. q(res.raw))
    assert.is_true(res:has_token("Connection", "close"), "no Connection: close in " .. q(res.raw_head))
    assert.is_false(res:has_token("Connection", "keep-alive"), res.raw_head)
    local extra, kind
    if res.framing == "close" then
        extra, kind = "", res.end_kind
    else
        extra, kind = c:read_until_close(3)
    end
    assert.are.equal("", extra, "bytes after the " .. status .. " response")
    assert.are.equal("fin", kind, "the connection did not end with a FIN")
    c:close()
    return res
end

describe("hostile input", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP, args = { "--max-url", "100", "--max-header", "1024",
            "--header-timeout", "3", "--linger-idle", "0.5", "--linger-time", "2" } })
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

    describe("request smuggling (RFC 9112 6.1, 6.3)", function()
        it("answers 400 and closes for Content-Length together with Transfer-Encoding", function()
            -- CL.TE: the 5 bytes "0\r\n\r\n" end the chunked body; by Content-Length they are
            -- the body and the GET behind them would be a second request.
            refused(srv, "POST /echo HTTP/1.1\r\n" .. H .. "Content-Length: 5\r\n"
                .. "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for two differing Content-Length fields", function()
            refused(srv, "POST /echo HTTP/1.1\r\n" .. H .. "Content-Length: 6\r\n"
                .. "Content-Length: 5\r\n\r\nhello!" .. NEXT, 400)
        end)

        it("answers 400 and closes for Content-Length: 5, 6", function()
            refused(srv, "POST /echo HTTP/1.1\r\n" .. H .. "Content-Length: 5, 6\r\n\r\n"
                .. "hello!" .. NEXT, 400)
        end)

        it("answers 400 and closes for a chunk size that is not hex (0x5)", function()
            refused(srv, "POST /echo HTTP/1.1\r\n" .. H .. "Transfer-Encoding: chunked\r\n\r\n"
                .. "0x5\r\nhello\r\n0\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for a chunk size that overflows 64 bits", function()
            -- 0x10000000000000000 = 2^64: wrapped to 0 it would end the body at once and
            -- "hello..." would be read as the next request.
            refused(srv, "POST /echo HTTP/1.1\r\n" .. H .. "Transfer-Encoding: chunked\r\n\r\n"
                .. "10000000000000000\r\nhello\r\n0\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for chunk data not followed by CRLF", function()
            refused(srv, "POST /echo HTTP/1.1\r\n" .. H .. "Transfer-Encoding: chunked\r\n\r\n"
                .. "5\r\nhelloXX0\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes when chunked is not the last transfer coding", function()
            -- RFC 9112 6.3 item 4: the length cannot be determined; 400 and close.
            refused(srv, "POST /echo HTTP/1.1\r\n" .. H .. "Transfer-Encoding: chunked, gzip\r\n"
                .. "\r\n5\r\nhello\r\n0\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 501 and closes for a transfer coding it does not implement (gzip alone)",
            function()
                -- RFC 9112 6.1: a server that receives a transfer coding it does not understand
                -- SHOULD respond with 501 (and README: "501 for an unknown transfer coding").
                refused(srv, "POST /echo HTTP/1.1\r\n" .. H .. "Transfer-Encoding: gzip\r\n\r\n"
                    .. "hello" .. NEXT, 501)
            end)
    end)

    describe("field lines (RFC 9112 5, RFC 9110 5.5)", function()
        it("answers 400 and closes for whitespace between a field name and the colon", function()
            refused(srv, "GET /echo HTTP/1.1\r\n" .. H .. "X-A : a\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for an empty field name", function()
            refused(srv, "GET /echo HTTP/1.1\r\n" .. H .. ": v\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for a bare CR in a field value", function()
            refused(srv, "GET /echo HTTP/1.1\r\n" .. H .. "X-A: a\rX-B: b\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for a NUL in a field value", function()
            refused(srv, "GET /echo HTTP/1.1\r\n" .. H .. "X-A: a\0b\r\n\r\n" .. NEXT, 400)
        end)

        it("rejects obs-fold with 400, or replaces it with SP (RFC 9112 5.2), never keeping CR, LF or HTAB",
            function()
                local c = srv:connect()
                assert(c:send("GET /echo HTTP/1.1\r\n" .. H .. "X-Fold: a\r\n\tb\r\n"
                    .. "X-After: z\r\n\r\n"))
                local res = assert(c:read_response())
                if res.status == 400 then
                    assert.is_true(res:has_token("Connection", "close"), res.raw_head)
                    local extra, kind = c:read_until_close(3)
                    assert.are.equal("", extra)
                    assert.are.equal("fin", kind)
                else
                    assert.are.equal(200, res.status, res.raw)
                    local h = cjson.decode(res.body).headers
                    -- the obs-fold (CRLF HTAB) becomes one or more SP
                    assert.is_truthy(h["x-fold"]:match("^a +b$"), q(h["x-fold"]))
                    assert.are.equal("z", h["x-after"])
                    assert.is_true(c:is_open(0.1))
                end
                c:close()
            end)
    end)

    describe("Host (RFC 9112 3.2)", function()
        it("answers 400 and closes for an HTTP/1.1 request without Host", function()
            refused(srv, "GET /echo HTTP/1.1\r\nAccept: */*\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for two Host fields, even with the same value", function()
            refused(srv, "GET /echo HTTP/1.1\r\n" .. H .. H .. "\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for a Host value with a space", function()
            refused(srv, "GET /echo HTTP/1.1\r\nHost: a b\r\n\r\n" .. NEXT, 400)
        end)
    end)

    describe("Expect (RFC 9110 10.1.1)", function()
        it("answers 417 to an expectation other than 100-continue", function()
            -- The brief's rule is 417 with Connection: close and a FIN. Keeping the
            -- connection is allowed by RFC 9110 too, but then the 5-byte body must be skipped
            -- and the pipelined GET answered.
            local c = srv:connect()
            assert(c:send("POST /echo HTTP/1.1\r\n" .. H .. "Content-Length: 5\r\n"
                .. "Expect: something-else\r\n\r\nhello" .. NEXT))
            local res = assert(c:read_response())
            assert.are.equal(417, res.status, res.raw)
            if res:has_token("Connection", "close") then
                local extra, kind = c:read_until_close(3)
                assert.are.equal("", extra)
                assert.are.equal("fin", kind)
            else
                local nxt = assert(c:read_response())
                assert.are.equal(200, nxt.status, nxt.raw)
                assert.are.equal("x", nxt.body)
                assert.is_true(c:is_open(0.1))
            end
            c:close()
        end)

        it("sends exactly 'HTTP/1.1 100 Continue\\r\\n\\r\\n' only when the handler reads the body",
            function()
                local c = srv:connect()
                assert(c:send("POST /late-read?ms=400 HTTP/1.1\r\n" .. H .. "Content-Length: 5\r\n"
                    .. "Expect: 100-continue\r\n\r\n"))
                local t0 = S.now()
                -- the handler sleeps 400 ms before its first read: nothing may come before
                local quiet, why = c:is_open(0.25)
                assert.is_true(quiet, "bytes before the handler read the body: "
                    .. tostring(why) .. " " .. q(c.data:sub(c.pos) .. table.concat(c.pending)))
                local interim, err, partial = c:read_until("\r\n\r\n", 3)
                local t = S.now() - t0
                assert.are.equal("HTTP/1.1 100 Continue\r\n\r\n", interim,
                    tostring(err) .. " " .. q(partial or ""))
                assert.is_true(t >= 0.35, "100 Continue after " .. t .. "s, before the read")
                assert(c:send("hello"))
                local res = assert(c:read_response())
                assert.are.equal(200, res.status, res.raw) -- not a second 100
                assert.are.equal("got:hello", res.body)
                assert.is_false(res:has_token("Connection", "close"))
                assert(c:send(S.get("/bytes/3")))
                assert.are.equal("xxx", assert(c:read_response()).body)
                c:close()
            end)

        it("sends no 100 Continue when the handler answers without reading (/reject-upload), then closes",
            function()
                local c = srv:connect()
                assert(c:send("POST /reject-upload HTTP/1.1\r\n" .. H
                    .. "Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n"))
                local res = assert(c:read_response({ timeout = 3 }))
                assert.are.equal(413, res.status, q(res.raw))
                assert.are.equal("upload rejected\n", res.body)
                assert.is_true(res:has_token("Connection", "close"), res.raw_head)
                local extra, kind = c:read_until_close(3)
                assert.are.equal("", extra, "bytes after the 413 (a late 100 Continue?)")
                assert.are.equal("fin", kind)
                c:close()
            end)

        it("sends no 100 Continue for Expect in an HTTP/1.0 request", function()
            local c = srv:connect()
            assert(c:send("POST /late-read?ms=50 HTTP/1.0\r\nConnection: keep-alive\r\n"
                .. "Content-Length: 4\r\nExpect: 100-continue\r\n\r\n"))
            -- by now the handler waits in req:body(): an HTTP/1.1 client would have its 100
            local quiet, why = c:is_open(0.5)
            assert.is_true(quiet, "bytes before the body was sent: " .. tostring(why) .. " "
                .. q(c.data:sub(c.pos) .. table.concat(c.pending)))
            assert(c:send("body"))
            local res = assert(c:read_response())
            assert.are.equal(200, res.status, q(res.raw))
            assert.are.equal("got:body", res.body)
            c:close()
        end)
    end)

    describe("limits", function()
        -- --max-url 100 and --max-header 1024 (see lazy_setup)

        it("answers a request target of exactly --max-url bytes", function()
            local target = "/echo/" .. string.rep("u", 100 - 6)
            assert.are.equal(100, #target)
            local res = assert(srv:fetch(S.get(target)))
            assert.are.equal(200, res.status, res.status_line)
            assert.are.equal(target, cjson.decode(res.body).path)
        end)

        it("answers 414 and closes for a request target of --max-url + 1 bytes", function()
            local target = "/echo/" .. string.rep("u", 101 - 6)
            assert.are.equal(101, #target)
            refused(srv, S.get(target) .. NEXT, 414)
        end)

        local function head_of(n)
            local prefix = "GET /echo HTTP/1.1\r\n" .. H .. "X-Pad: "
            local head = prefix .. string.rep("p", n - #prefix - 4) .. "\r\n\r\n"
            assert(#head == n)
            return head
        end

        it("answers a head (request line + fields + final CRLF) of exactly --max-header bytes",
            function()
                local res = assert(srv:fetch(head_of(1024)))
                assert.are.equal(200, res.status, res.status_line)
                local pad = cjson.decode(res.body).headers["x-pad"]
                assert.are.equal(1024 - #("GET /echo HTTP/1.1\r\n" .. H .. "X-Pad: ") - 4, #pad)
            end)

        it("answers 431 and closes for a head of --max-header + 1 bytes", function()
            refused(srv, head_of(1025) .. NEXT, 431)
        end)
    end)

    describe("odd but valid", function()
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

        it("answers an Upgrade request as a normal request, and a request pipelined after it",
            function()
                local c = srv:connect()
                assert(c:send("GET /echo/up HTTP/1.1\r\n" .. H .. "Connection: Upgrade\r\n"
                    .. "Upgrade: websocket\r\n\r\n" .. S.get("/bytes/3")))
                local list = assert(c:read_responses(2))
                assert.are.equal(200, list[1].status, list[1].raw) -- not 101
                local j = cjson.decode(list[1].body)
                assert.are.equal("/echo/up", j.path)
                assert.are.equal("websocket", j.headers.upgrade)
                assert.are.equal(200, list[2].status)
                assert.are.equal("xxx", list[2].body)
                assert.is_true(c:is_open(0.1))
                c:close()
            end)

        it("takes path and query from an absolute-form target, ignoring Host (RFC 9112 3.2.2)",
            function()
                local res = assert(srv:fetch("GET http://127.0.0.1/echo/abs?q=1 HTTP/1.1\r\n"
                    .. "Host: other.example\r\n\r\n"))
                assert.are.equal(200, res.status, res.raw)
                local j = cjson.decode(res.body)
                assert.are.equal("/echo/abs", j.path)
                assert.are.equal("q=1", j.query)
            end)
    end)
end)
