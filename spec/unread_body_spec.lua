-- A request body the handler does not read (docs/ARCHITECTURE.md, the connection contract,
-- point 3: only an unread body over the discard limit ends keep-alive): the server skips or
-- drains it and the connection goes on.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")
local ECHO = S.root .. "/apps/echo"

local q = S.q

describe("a request body the handler does not read", function()
    describe("that the handler answered before the body was parsed", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = LIFECYCLE })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        -- The handler answers at once from on_request, before the end of the message has
        -- been parsed: the keep-alive decision must wait for what is really unread.
        local cases = {
            { "a chunked body", "POST /ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                .. "5\r\nhello\r\n0\r\n\r\n" },
            { "Expect: 100-continue without a body", "GET /ping HTTP/1.1\r\nHost: x\r\n"
                .. "Expect: 100-continue\r\n\r\n" },
            { "Expect: 100-continue with Content-Length: 0", "POST /ping HTTP/1.1\r\nHost: x\r\n"
                .. "Expect: 100-continue\r\nContent-Length: 0\r\n\r\n" },
            { "Expect: 100-continue with the body sent along", "POST /ping HTTP/1.1\r\nHost: x\r\n"
                .. "Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello" },
            { "a Content-Length body", "POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" },
        }
        for _, case in ipairs(cases) do
            it("keeps the connection alive after " .. case[1] .. " sent in one write", function()
                local c = srv:connect()
                assert(c:send(case[2]))
                local res = assert(c:read_response({ timeout = 3 }))
                assert.are.equal("pong", res.body)
                assert.is_false(res:has_token("Connection", "close"), res.raw_head)
                assert(c:send(S.get("/ping")))
                local again = assert(c:read_response({ timeout = 3 }))
                assert.are.equal("pong", again.body)
                assert.is_true(c:is_open(0.1))
                c:close()
            end)
        end
    end)

    describe("after a 413 from a handler that does not read (apps/echo /reject-upload)", function()
        local srv

        lazy_setup(function()
            -- a --max-body above the upload, so that the 413 comes from the handler that does not
            -- read (apps/echo /reject-upload), not from the server's own limit
            srv = S.start({ app = ECHO, args = { "--max-body", "64m", "--linger-time", "5",
                "--linger-idle", "1" } })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("drains a small unread body sent with the head and keeps the connection alive", function()
            local c = srv:connect()
            assert(c:send("POST /reject-upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n"
                .. "\r\n" .. string.rep("d", 1000)))
            local res = assert(c:read_response())
            assert.are.equal(413, res.status)
            assert.are.equal("upload rejected\n", res.body)
            assert.is_false(res:has_token("Connection", "close"), res.raw_head)
            assert.is_true(c:is_open(0.2), "the connection closed after a 1000-byte unread body")
            assert(c:send(S.get("/bytes/3")))
            local r2 = assert(c:read_response())
            assert.are.equal(200, r2.status, q(r2.raw))
            assert.are.equal("xxx", r2.body)
            c:close()
        end)

        it("drains a small unread body that arrives after the 413 and keeps the connection alive",
            function()
                local c = srv:connect()
                assert(c:send("POST /reject-upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    .. "Content-Length: 1000\r\n\r\n"))
                local res = assert(c:read_response())
                assert.are.equal(413, res.status)
                assert.is_false(res:has_token("Connection", "close"), res.raw_head)
                assert(c:send(string.rep("d", 1000) .. S.get("/bytes/3")))
                local r2 = assert(c:read_response())
                assert.are.equal(200, r2.status, q(r2.raw))
                assert.are.equal("xxx", r2.body)
                assert.is_true(c:is_open(0.1))
                c:close()
            end)
    end)
end)
