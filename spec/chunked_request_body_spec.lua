-- Chunked request bodies (RFC 9112 section 7.1): decoded for the handler whatever the case of
-- the coding name and hex digits, with chunk extensions and trailers, in pieces over time, empty
-- or large.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

describe("chunked request bodies", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("decodes a chunked body for req:body()", function()
        local res = assert(srv:fetch("POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            .. "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"))
        assert.are.equal(200, res.status)
        assert.are.equal("hello world", res.body)
    end)

    it("accepts upper-case hex sizes, chunk extensions and trailers", function()
        local res = assert(srv:fetch("POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            .. "Transfer-Encoding: chunked\r\n\r\n"
            .. "A;name=value\r\n0123456789\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
            .. "0\r\nX-Trailer: t\r\n\r\n"))
        assert.are.equal(200, res.status)
        assert.are.equal("0123456789abcdefghijklmnopqrstuvwxyz", res.body)
    end)

    it("decodes a chunked body that arrives in small pieces over time", function()
        local c = srv:connect()
        local raw = "POST /read-loop HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            .. "Transfer-Encoding: chunked\r\n\r\n"
        assert(c:send(raw))
        S.sleep(0.05)
        local body = S.chunked({ "first ", "second ", "third" })
        assert(c:send_slowly(body, 7, 0.02))
        local res = assert(c:read_response())
        assert.are.equal(200, res.status)
        assert.are.equal("first second third", res.body)
        assert.are.equal("true", res:header("X-Complete"))
        c:close()
    end)

    it("accepts the chunked coding name in any case", function()
        local res = assert(srv:fetch("POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            .. "Transfer-Encoding: Chunked\r\n\r\n" .. S.chunked({ "any", "case" })))
        assert.are.equal(200, res.status)
        assert.are.equal("anycase", res.body)
    end)

    it("decodes an empty chunked body", function()
        local res = assert(srv:fetch("POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            .. "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
        assert.are.equal(200, res.status)
        assert.are.equal("", res.body)
    end)

    it("decodes a 300 KiB chunked body", function()
        local pieces = {}
        for i = 1, 30 do
            pieces[i] = string.rep(string.char(96 + (i % 26) + 1), 10240)
        end
        local c = srv:connect()
        assert(c:send("POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            .. "Transfer-Encoding: chunked\r\n\r\n" .. S.chunked(pieces)))
        local res = assert(c:read_response({ timeout = 10 }))
        assert.are.equal(table.concat(pieces), res.body)
        c:close()
    end)
end)
