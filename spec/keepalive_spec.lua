-- Persistent connections (RFC 9112 section 9.3; docs/ARCHITECTURE.md, the connection contract,
-- points 2 and 3): whether a connection stays open after a response, for HTTP/1.1 and HTTP/1.0,
-- as the request, the handler (res.shouldKeepAlive) and the server decide, and the Keep-Alive
-- announcement. The idle timeout is in idle_timeout_spec.lua, the request limit in
-- max_requests_spec.lua, an unread request body in unread_body_spec.lua.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

local q = S.q

describe("keep-alive", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    describe("HTTP/1.1", function()
        it("keeps the connection open after a response by default", function()
            local c = srv:connect()
            for i = 1, 3 do
                assert(c:send(S.get("/ping")))
                local res = assert(c:read_response())
                assert.are.equal(200, res.status)
                assert.are.equal("pong", res.body)
                assert.is_false(res:has_token("Connection", "close"))
            end
            assert.is_true(c:is_open(0.1))
            c:close()
        end)

        it("announces Keep-Alive: timeout=5 on keep-alive responses", function()
            local c = srv:connect()
            assert(c:send(S.get("/ping")))
            local res = assert(c:read_response())
            assert.are.equal("timeout=5", res:header("Keep-Alive"))
            c:close()
        end)

        it("closes after the response when the request says Connection: close", function()
            local c = srv:connect()
            assert(c:send(S.get("/ping", { { "Connection", "close" } })))
            local res = assert(c:read_response())
            assert.are.equal("pong", res.body)
            assert.is_true(res:has_token("Connection", "close"))
            assert.is_false(res:has_token("Connection", "keep-alive"))
            local extra, kind = c:read_until_close(3)
            assert.are.equal("", extra)
            assert.are.equal("fin", kind)
            c:close()
        end)

        it("treats the close option case-insensitively and within a list", function()
            for _, v in ipairs({ "Close", "CLOSE", "foo, close", "close, TE" }) do
                local c = srv:connect()
                assert(c:send("GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: " .. v
                    .. "\r\n" .. (v:find("TE") and "TE: trailers\r\n" or "") .. "\r\n"))
                local res = assert(c:read_response())
                assert.are.equal("pong", res.body)
                assert.is_true(res:has_token("Connection", "close"), v)
                local _, kind = c:read_until_close(3)
                assert.are.equal("fin", kind, v)
                c:close()
            end
        end)

        it("does not answer a request pipelined after Connection: close", function()
            local c = srv:connect()
            assert(c:send(S.get("/ping", { { "Connection", "close" } }) .. S.get("/ping")))
            local res = assert(c:read_response())
            assert.are.equal("pong", res.body)
            local extra, kind = c:read_until_close(3)
            assert.are.equal("", extra)
            assert.are_not.equal("timeout", kind)
            c:close()
        end)

        it("keeps the connection open when the request says Connection: keep-alive", function()
            local c = srv:connect()
            assert(c:send(S.get("/ping", { { "Connection", "keep-alive" } })))
            local res = assert(c:read_response())
            assert.is_false(res:has_token("Connection", "close"))
            assert(c:send(S.get("/ping")))
            assert.are.equal("pong", assert(c:read_response()).body)
            c:close()
        end)

        it("starts res.shouldKeepAlive true, false with Connection: close", function()
            local c = srv:connect()
            assert(c:send(S.get("/ska")))
            assert.are.equal("true", assert(c:read_response()).body)
            assert(c:send(S.get("/ska", { { "Connection", "close" } })))
            assert.are.equal("false", assert(c:read_response()).body)
            c:close()
        end)

        it("sends all queued data before the FIN", function()
            local c = srv:connect()
            assert(c:send(S.get("/big", { { "Connection", "close" } })))
            S.sleep(0.2)
            local res = assert(c:read_response({ timeout = 10 }))
            assert.are.equal(300000, #res.body)
            local _, kind = c:read_until_close(3)
            assert.are.equal("fin", kind)
            c:close()
        end)
    end)

    describe("HTTP/1.0", function()
        it("closes after the response by default, saying Connection: close", function()
            local c = srv:connect()
            assert(c:send("GET /ping HTTP/1.0\r\n\r\n"))
            local res = assert(c:read_response())
            assert.are.equal("HTTP/1.1", res.version)
            assert.are.equal("pong", res.body)
            assert.is_true(res:has_token("Connection", "close"))
            local extra, kind = c:read_until_close(3)
            assert.are.equal("", extra)
            assert.are.equal("fin", kind)
            c:close()
        end)

        it("keeps the connection with Connection: keep-alive and says so", function()
            local c = srv:connect()
            assert(c:send("GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
            local res = assert(c:read_response())
            assert.are.equal("pong", res.body)
            assert.is_true(res:has_token("Connection", "keep-alive"))
            assert.are.equal("timeout=5", res:header("Keep-Alive"))
            assert.is_true(c:is_open(0.1))
            assert(c:send("GET /ping HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))
            local res2 = assert(c:read_response())
            assert.are.equal("pong", res2.body)
            assert(c:send("GET /ping HTTP/1.0\r\n\r\n"))
            local res3 = assert(c:read_response())
            assert.are.equal("pong", res3.body)
            assert.is_true(res3:has_token("Connection", "close"))
            local _, kind = c:read_until_close(3)
            assert.are.equal("fin", kind)
            c:close()
        end)

        it("starts res.shouldKeepAlive false, true with Connection: keep-alive", function()
            local c = srv:connect()
            assert(c:send("GET /ska HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
            assert.are.equal("true", assert(c:read_response()).body)
            assert(c:send("GET /ska HTTP/1.0\r\n\r\n"))
            assert.are.equal("false", assert(c:read_response()).body)
            c:close()
        end)

        it("closes a keep-alive HTTP/1.0 connection after a stream of unknown length",
            function()
                local c = srv:connect()
                assert(c:send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
                local res = assert(c:read_response())
                assert.are.equal("close", res.framing)
                assert.are.equal("abcdef", res.body)
                assert.is_true(res:has_token("Connection", "close"))
                assert.is_nil(res:header("Transfer-Encoding"))
                assert.are.equal("fin", res.end_kind)
                c:close()
            end)
    end)

    describe("res.shouldKeepAlive = false from the handler", function()
        it("says Connection: close and closes with a FIN when the handler sets shouldKeepAlive false",
            function()
                local c = srv:connect()
                assert(c:send(S.get("/no-keepalive") .. S.get("/ping")))
                local res = assert(c:read_response())
                assert.are.equal(200, res.status)
                assert.are.equal("closing", res.body)
                assert.is_true(res:has_token("Connection", "close"))
                local extra, kind = c:read_until_close(3)
                assert.are.equal("", extra, "a request pipelined after the close was answered")
                assert.are.equal("fin", kind)
                c:close()
                assert.are.equal("false", srv:state().ska_after_set)
            end)
    end)
end)

describe("res.shouldKeepAlive = true from the handler", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE, args = { "--keepalive-timeout", "1" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("does not let res.shouldKeepAlive = true override Connection: close or HTTP/1.0 without keep-alive",
        function()
            for _, req in ipairs({
                "GET /ka HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                "GET /ka HTTP/1.0\r\n\r\n",
            }) do
                local c = srv:connect()
                assert(c:send(req))
                local res = assert(c:read_response({ timeout = 3 }))
                assert.are.equal("ka", res.body)
                assert.is_true(res:has_token("Connection", "close"),
                    "request " .. q(req) .. " answered with " .. q(res.raw_head))
                assert.is_false(res:has_token("Connection", "keep-alive"), res.raw_head)
                local extra, kind = c:read_until_close(1.5)
                assert.are.equal("", extra)
                assert.are.equal("fin", kind, "request " .. q(req) .. ": connection end")
                c:close()
            end
        end)
end)

describe("res.shouldKeepAlive lowered by the handler", function()
    it("stays lowered when the handler sets it true again: Connection: close, then FIN", function()
        local srv = S.start({ app = LIFECYCLE })
        finally(function() srv:stop_ok() end)
        local c = srv:connect()
        assert(c:send(S.get("/ka-lowered")))
        local res = assert(c:read_response({ timeout = 3 }))
        assert.are.equal("lowered", res.body)
        assert.is_true(res:has_token("Connection", "close"), res.raw_head)
        assert.is_false(res:has_token("Connection", "keep-alive"), res.raw_head)
        assert.is_nil(res:header("Keep-Alive"), res.raw_head)
        local extra, kind = c:read_until_close(2)
        assert.are.equal("", extra)
        assert.are.equal("fin", kind)
        c:close()
        assert.are.equal("false", srv:state().ka_lowered_after_raise)
    end)
end)

describe("Keep-Alive announcement", function()
    it("announces the configured keep-alive timeout", function()
        local srv = S.start({ app = LIFECYCLE, args = { "--keepalive-timeout", "7" } })
        finally(function() srv:stop_ok() end)
        local res = assert(srv:fetch(S.get("/ping")))
        assert.are.equal("timeout=7", res:header("Keep-Alive"))
    end)
end)
