-- Expect (RFC 9110 section 10.1.1): `100 Continue` goes out when the handler first reads the
-- body, exactly once, and never when it answers without reading or to HTTP/1.0; an expectation
-- other than 100-continue gets 417.

local S = require("spec.support.server")

local APP = S.app("echo_late_read.lua")

local H = "Host: 127.0.0.1\r\n"
local NEXT = "GET /bytes/1 HTTP/1.1\r\n" .. H .. "\r\n" -- a request pipelined behind

local q = S.q

describe("Expect (RFC 9110 10.1.1)", function()
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
