-- Response framing (RFC 9112 section 6; docs/ARCHITECTURE.md, the connection contract, point
-- 7): the server chooses Content-Length, chunked or close-delimited, honours a Content-Length
-- the handler set (and ends the connection when the body falls short of it), and sends no body
-- for HEAD, 204 and 304.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

local q = S.q

-- Checks the wire form of a chunked body: each size line is bare hex matching its data, and
-- the body ends with the last chunk and an empty trailer section.
local function assert_chunk_framing(res)
    assert.are.equal("chunked", res.framing)
    local body = res.raw:sub(#res.raw_head + 1)
    local pos, out = 1, {}
    while true do
        local hex, nl = body:match("^(%x+)\r\n()", pos)
        assert.is_truthy(hex, "bad chunk size line at " .. pos .. ": " .. body:sub(pos, pos + 20))
        local size = tonumber(hex, 16)
        pos = nl
        if size == 0 then
            break
        end
        assert.is_true(size > 0)
        out[#out + 1] = body:sub(pos, pos + size - 1)
        pos = pos + size
        assert.are.equal("\r\n", body:sub(pos, pos + 1))
        pos = pos + 2
    end
    assert.are.equal("\r\n", body:sub(pos))
    assert.are.equal(res.body, table.concat(out))
end

describe("response framing", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    describe("responses", function()
        it("uses Content-Length when the whole body is given to finish", function()
            local res = assert(srv:fetch(S.get("/fixed")))
            assert.are.equal("10", res:header("Content-Length"))
            assert.is_nil(res:header("Transfer-Encoding"))
            assert.are.equal("0123456789", res.body)
        end)

        it("uses Content-Length: 0 for finish() without data", function()
            local res = assert(srv:fetch(S.get("/empty")))
            assert.are.equal(200, res.status)
            assert.are.equal("0", res:header("Content-Length"))
            assert.is_nil(res:header("Transfer-Encoding"))
            assert.are.equal("", res.body)
        end)

        it("uses Content-Length for a large body given to finish", function()
            local res = assert(srv:fetch(S.get("/big"), { timeout = 10 }))
            assert.are.equal("300000", res:header("Content-Length"))
            assert.are.equal(string.rep("b", 300000), res.body)
        end)

        it("uses Content-Length for an HTTP/1.0 response whose body is given to finish",
            function()
                local res = assert(srv:fetch("GET /fixed HTTP/1.0\r\n\r\n"))
                assert.are.equal("10", res:header("Content-Length"))
                assert.are.equal("0123456789", res.body)
            end)

        it("streams chunked to HTTP/1.1 after write, with exact chunk framing", function()
            local res = assert(srv:fetch(S.get("/stream")))
            assert.are.equal("chunked", res:header("Transfer-Encoding"))
            assert.is_nil(res:header("Content-Length"))
            assert.are.equal("abcdef", res.body)
            assert_chunk_framing(res)
        end)

        it("sends each write as it happens when the handler yields between writes", function()
            local res = assert(srv:fetch(S.get("/stream-yield")))
            assert.are.equal("chunked", res:header("Transfer-Encoding"))
            assert.are.equal("abcde", res.body)
            assert_chunk_framing(res)
            assert.are.same({ "2", "3" }, { res.chunks[1].size_line, res.chunks[2].size_line })
            assert.are.equal(2, #res.chunks)
        end)

        it("never sends an empty chunk before the end for empty writes", function()
            local res = assert(srv:fetch(S.get("/stream-empty-writes")))
            assert.are.equal("abc", res.body)
            assert_chunk_framing(res)
            for _, ch in ipairs(res.chunks) do
                assert.is_true(#ch.data > 0)
            end
        end)

        it("keeps the connection after a chunked response", function()
            local c = srv:connect()
            assert(c:send(S.get("/stream") .. S.get("/fixed")))
            local list = assert(c:read_responses(2))
            assert.are.equal("abcdef", list[1].body)
            assert.are.equal("0123456789", list[2].body)
            c:close()
        end)

        it("streams close-delimited to HTTP/1.0 and closes with a FIN", function()
            local c = srv:connect()
            assert(c:send("GET /stream HTTP/1.0\r\n\r\n"))
            local res = assert(c:read_response())
            assert.are.equal("close", res.framing)
            assert.is_nil(res:header("Transfer-Encoding"))
            assert.is_nil(res:header("Content-Length"))
            assert.is_true(res:has_token("Connection", "close"))
            assert.are.equal("abcdef", res.body)
            assert.are.equal("fin", res.end_kind)
            c:close()
        end)

        it("uses the handler's own Content-Length for a streamed body", function()
            local c = srv:connect()
            assert(c:send(S.get("/declared-length") .. S.get("/fixed")))
            local list = assert(c:read_responses(2))
            assert.are.equal("5", list[1]:header("Content-Length"))
            assert.is_nil(list[1]:header("Transfer-Encoding"))
            assert.are.equal(1, list[1]:header_count("Content-Length"))
            assert.are.equal("hello", list[1].body)
            assert.are.equal("0123456789", list[2].body)
            c:close()
        end)
    end)

    describe("responses without a body", function()
        it("sends no body for HEAD on a streamed response", function()
            local c = srv:connect()
            assert(c:send(S.request("HEAD", "/body-anyway") .. S.get("/ping")))
            local r1 = assert(c:read_response({ head = true }))
            assert.are.equal(200, r1.status)
            local r2 = assert(c:read_response())
            assert.are.equal(200, r2.status, "bytes after the HEAD response: " .. r2.status_line)
            assert.are.equal("pong", r2.body)
            c:close()
        end)

        it("sends no body for HEAD on a Content-Length response", function()
            local c = srv:connect()
            assert(c:send(S.request("HEAD", "/body-anyway-fixed") .. S.get("/ping")))
            local r1 = assert(c:read_response({ head = true }))
            assert.are.equal(200, r1.status)
            if r1:header("Content-Length") then
                assert.are.equal("10", r1:header("Content-Length"))
            end
            local r2 = assert(c:read_response())
            assert.are.equal("pong", r2.body, r2.raw)
            c:close()
        end)

        it("sends no body for HEAD on an HTTP/1.0 keep-alive connection", function()
            local c = srv:connect()
            assert(c:send("HEAD /body-anyway HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
            local r1 = assert(c:read_response({ head = true }))
            assert.are.equal(200, r1.status)
            -- either the connection persists or it closes; no body bytes either way
            local extra = c:read_until_close(0.3)
            assert.are.equal("", extra)
            c:close()
        end)

        for _, code in ipairs({ 204, 304 }) do
            it("sends no body for " .. code .. " whatever the handler writes", function()
                local c = srv:connect()
                assert(c:send(S.get("/nobody?code=" .. code) .. S.get("/ping")))
                local r1 = assert(c:read_response())
                assert.are.equal(code, r1.status)
                assert.is_nil(r1:header("Transfer-Encoding"))
                if code == 204 then
                    assert.is_nil(r1:header("Content-Length"))
                end
                local r2 = assert(c:read_response())
                assert.are.equal(200, r2.status, "bytes after the " .. code .. ": "
                    .. tostring(r2.status_line))
                assert.are.equal("pong", r2.body)
                c:close()
            end)

            it("sends no body for " .. code .. " given to finish", function()
                local c = srv:connect()
                assert(c:send(S.get("/nobody-finish?code=" .. code) .. S.get("/ping")))
                local r1 = assert(c:read_response())
                assert.are.equal(code, r1.status)
                assert.is_nil(r1:header("Transfer-Encoding"))
                if code == 204 then
                    assert.is_nil(r1:header("Content-Length"))
                end
                local r2 = assert(c:read_response())
                assert.are.equal("pong", r2.body)
                c:close()
            end)
        end

        it("sends no body for 204 to HTTP/1.0 and does not wait for a close", function()
            local c = srv:connect()
            assert(c:send("GET /nobody?code=204 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
            local r1 = assert(c:read_response())
            assert.are.equal(204, r1.status)
            assert.is_nil(r1:header("Content-Length"))
            local extra = c:read_until_close(0.3)
            assert.are.equal("", extra)
            c:close()
        end)
    end)
end)

describe("a Content-Length the body does not reach", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE, args = { "--keepalive-timeout", "1" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("says Connection: close when finish() leaves a set Content-Length short, sends the 3 bytes, then ends",
        function()
            local c = srv:connect()
            assert(c:send(S.get("/short")))
            local head, err, partial = c:read_until("\r\n\r\n", 3)
            assert.is_truthy(head, "no head: " .. tostring(err) .. " " .. q(partial))
            local lhead = head:lower()
            assert.is_truthy(lhead:find("\r\ncontent-length: 10\r\n", 1, true), q(head))
            assert.is_truthy(lhead:find("\r\nconnection: close\r\n", 1, true), q(head))
            assert.is_falsy(lhead:find("keep-alive", 1, true), q(head))
            local body, kind = c:read_until_close(2)
            c:close()
            assert.are.equal("abc", body)
            assert.are_not.equal("timeout", kind, "the connection did not end")
            assert.are.equal("fin", kind) -- the contract's end after a last response byte
            srv:assert_still_serving()
        end)
end)
