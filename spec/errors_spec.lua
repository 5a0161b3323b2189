-- Requests the server must refuse (RFC 9112, issue 2): 400 for malformed messages, 501 for an
-- unknown transfer coding, 505 for an unsupported major version, 431 for a header block over
-- --max-header, 413 for a body over --max-body. Each refusal says Connection: close and the
-- connection then ends with a FIN.

local S = require("spec.support.server")

local ECHO = S.root .. "/apps/echo"

-- Sends raw bytes on a fresh connection; expects `status` with Connection: close, then the end
-- of the connection (a FIN, nothing more). Returns the response.
local function expect_refusal(srv, raw, status, opts)
    opts = opts or {}
    local c = srv:connect()
    assert(c:send(raw))
    local res, err, partial = c:read_response({ timeout = 5 })
    assert.is_truthy(res, "no response: " .. tostring(err) .. " raw: "
        .. string.format("%q", partial and partial.raw or ""))
    if type(status) == "table" then
        local ok = false
        for _, s in ipairs(status) do
            ok = ok or res.status == s
        end
        assert.is_true(ok, "status " .. res.status .. " for " .. string.format("%q", raw))
    else
        assert.are.equal(status, res.status, "for " .. string.format("%q", raw))
    end
    assert.are.equal("HTTP/1.1", res.version)
    assert.is_true(res:has_token("Connection", "close"), res.raw_head)
    local extra, kind = c:read_until_close(opts.close_timeout or 3)
    assert.are.equal("", extra)
    if opts.any_close then
        assert.are_not.equal("timeout", kind)
    else
        assert.are.equal("fin", kind)
    end
    c:close()
    return res
end

describe("refused requests", function()
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

    describe("400 Bad Request", function()
        it("answers 400 and closes for a request line that is not HTTP", function()
            expect_refusal(srv, "GARBAGE\r\n\r\n", 400)
        end)

        it("answers 400 and closes for a header line without a colon", function()
            expect_refusal(srv, "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n",
                400)
        end)

        it("answers 400 and closes for whitespace between a field name and the colon", function()
            expect_refusal(srv, "GET /echo HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n", 400)
        end)

        it("answers 400 and closes for an invalid Content-Length", function()
            expect_refusal(srv, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: abc\r\n\r\n", 400)
        end)

        it("answers 400 and closes for conflicting Content-Length fields", function()
            expect_refusal(srv, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400)
        end)

        it("answers 400 and closes for an invalid chunk size", function()
            expect_refusal(srv, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400)
        end)

        it("answers 400 and closes for a negative Content-Length", function()
            expect_refusal(srv, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: -1\r\n\r\n", 400)
        end)

        it("refuses a chunk size that overflows (400 or 413) and closes", function()
            expect_refusal(srv, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nx\r\n0\r\n\r\n",
                { 400, 413 })
        end)

        it("answers 400 and closes for an HTTP/1.1 request without Host", function()
            expect_refusal(srv, "GET /echo HTTP/1.1\r\nAccept: */*\r\n\r\n", 400)
        end)

        it("answers 400 and closes for a request with two Host fields", function()
            expect_refusal(srv, "GET /echo HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
                400)
        end)

        it("answers 400 after a good request on the same connection, and answers the good one",
            function()
                local c = srv:connect()
                assert(c:send(S.get("/bytes/3") .. "BAD REQUEST LINE\r\n\r\n"))
                local r1 = assert(c:read_response())
                assert.are.equal("xxx", r1.body)
                local r2 = assert(c:read_response())
                assert.are.equal(400, r2.status)
                assert.is_true(r2:has_token("Connection", "close"))
                local _, kind = c:read_until_close(3)
                assert.are.equal("fin", kind)
                c:close()
            end)

        it("closes after answering a request with both Content-Length and Transfer-Encoding",
            function()
                -- RFC 9112 6.1: reject, or use Transfer-Encoding alone; either way close.
                local c = srv:connect()
                assert(c:send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n"
                    .. "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                    .. S.get("/bytes/1")))
                local res = assert(c:read_response())
                if res.status == 200 then
                    assert.are.equal("hello", require("cjson").decode(res.body).body)
                else
                    assert.are.equal(400, res.status)
                end
                assert.is_true(res:has_token("Connection", "close"))
                local extra, kind = c:read_until_close(3)
                assert.are.equal("", extra)
                assert.are_not.equal("timeout", kind)
                c:close()
            end)
    end)

    describe("default limits", function()
        it("answers 431 and closes for a header block over the default 16 KiB", function()
            expect_refusal(srv, "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                .. string.rep("h", 17000) .. "\r\n\r\n", 431)
        end)

        it("answers a header block of 12 KiB under the default limit", function()
            local res = assert(srv:fetch("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                .. string.rep("h", 12000) .. "\r\n\r\n"))
            assert.are.equal(200, res.status)
        end)

        it("answers 413 and closes for a Content-Length over the default 1 MiB", function()
            local c = srv:connect()
            assert(c:send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: 1048577\r\n\r\n"))
            local res = assert(c:read_response({ timeout = 3 }))
            assert.are.equal(413, res.status)
            assert.is_true(res:has_token("Connection", "close"))
            c:close()
        end)

        it("accepts a body of exactly 1 MiB by default", function()
            local body = string.rep("m", 1048576)
            local res = assert(srv:fetch(S.request("POST", "/echo", nil, body), { timeout = 10 }))
            assert.are.equal(200, res.status)
            assert.are.equal(1048576, require("cjson").decode(res.body).bodyLength)
        end)
    end)

    describe("framing edge cases", function()
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

        it("rejects an obs-folded header with 400 or unfolds it to one space", function()
            local c = srv:connect()
            assert(c:send("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fold: a\r\n  b\r\n\r\n"))
            local res = assert(c:read_response())
            if res.status == 400 then
                assert.is_true(res:has_token("Connection", "close"))
            else
                assert.are.equal(200, res.status)
                local v = require("cjson").decode(res.body).headers["x-fold"]
                assert.is_truthy(v == "a b" or v == "a  b" or v == "a   b", tostring(v))
            end
            c:close()
        end)

        it("accepts a request target in absolute-form (RFC 9112 3.2.2)", function()
            local res = assert(srv:fetch("GET http://127.0.0.1/echo/abs?q=1 HTTP/1.1\r\n"
                .. "Host: 127.0.0.1\r\n\r\n"))
            assert.are.equal(200, res.status, res.status_line)
            local j = require("cjson").decode(res.body)
            assert.are.equal("/echo/abs", j.path)
            assert.are.equal("q=1", j.query)
        end)
    end)

    describe("501 Not Implemented", function()
        it("answers 501 and closes for an unknown transfer coding before chunked", function()
            expect_refusal(srv, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Transfer-Encoding: foo, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501)
        end)

        it("refuses an unknown transfer coding alone (501, or 400 per RFC 9112 6.3) and closes",
            function()
                expect_refusal(srv, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    .. "Transfer-Encoding: foo\r\n\r\nhello", { 501, 400 })
            end)
    end)

    describe("505 HTTP Version Not Supported", function()
        it("answers 505 and closes for HTTP/2.0 in the request line", function()
            expect_refusal(srv, "GET /echo HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n", 505)
        end)

        it("answers 505 and closes for HTTP/3.1 in the request line", function()
            expect_refusal(srv, "GET /echo HTTP/3.1\r\nHost: 127.0.0.1\r\n\r\n", 505)
        end)
    end)
end)

describe("request size limits", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = ECHO, args = { "--max-header", "1024", "--max-body", "1000" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    describe("431 Request Header Fields Too Large", function()
        it("answers 431 and closes for one header over --max-header", function()
            expect_refusal(srv, "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                .. string.rep("h", 2000) .. "\r\n\r\n", 431)
        end)

        it("answers 431 and closes for many small headers over --max-header", function()
            local hs = {}
            for i = 1, 60 do
                hs[#hs + 1] = string.format("X-H%02d: %s\r\n", i, string.rep("v", 20))
            end
            expect_refusal(srv, "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" .. table.concat(hs)
                .. "\r\n", 431)
        end)

        it("answers 431 for a header block over the limit that arrives in pieces", function()
            local c = srv:connect()
            local raw = "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                .. string.rep("p", 1500) .. "\r\n\r\n"
            c:send_slowly(raw, 200, 0.01)
            local res = assert(c:read_response())
            assert.are.equal(431, res.status)
            assert.is_true(res:has_token("Connection", "close"))
            local _, kind = c:read_until_close(3)
            assert.are_not.equal("timeout", kind)
            c:close()
        end)

        it("answers a header block under --max-header", function()
            local res = assert(srv:fetch("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Ok: "
                .. string.rep("o", 600) .. "\r\n\r\n"))
            assert.are.equal(200, res.status)
            assert.are.equal(string.rep("o", 600),
                require("cjson").decode(res.body).headers["x-ok"])
        end)
    end)

    describe("413 Content Too Large", function()
        it("answers 413 and closes for a Content-Length over --max-body", function()
            expect_refusal(srv, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: 2000\r\n\r\n" .. string.rep("b", 2000), 413)
        end)

        it("answers 413 and closes for a chunked body growing over --max-body", function()
            local pieces = {}
            for i = 1, 6 do
                pieces[i] = string.rep("c", 300)
            end
            expect_refusal(srv, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Transfer-Encoding: chunked\r\n\r\n" .. S.chunked(pieces), 413)
        end)

        it("accepts a body of exactly --max-body bytes", function()
            local body = string.rep("e", 1000)
            local res = assert(srv:fetch(S.request("POST", "/echo", nil, body)))
            assert.are.equal(200, res.status)
            assert.are.equal(1000, require("cjson").decode(res.body).bodyLength)
        end)

        it("answers 413 before the client sent the body", function()
            local c = srv:connect()
            assert(c:send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: 50000\r\n\r\n"))
            local res = assert(c:read_response({ timeout = 3 }))
            assert.are.equal(413, res.status)
            assert.is_true(res:has_token("Connection", "close"))
            c:close()
        end)
    end)
end)
