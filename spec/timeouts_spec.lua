-- The header, body and send timeouts (--header-timeout, --body-timeout, --send-timeout;
-- docs/ARCHITECTURE.md, the connection contract, point 5): each really closes the socket, with
-- the right answer and kind of end: 408 and a FIN for a head or a body that stalls, a reset for
-- a client that takes nothing. The keep-alive idle timeout is in idle_timeout_spec.lua, the
-- lingering close in lingering_close_spec.lua.

local S = require("spec.support.server")

local ECHO = S.root .. "/apps/echo"

local q = S.q

describe("request timeouts", function()
    describe("--header-timeout and --body-timeout", function()
        local srv

        lazy_setup(function()
            -- keep-alive idle (3 s) is far from the header timeout, so a close at ~0.3 s on a
            -- fresh connection can only be the header timeout
            srv = S.start({ app = ECHO, args = { "--header-timeout", "0.3", "--body-timeout", "0.3",
                "--keepalive-timeout", "3", "--linger-idle", "0.3", "--linger-time", "1" } })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("answers 408 to a partial head after --header-timeout, then FIN", function()
            local c = srv:connect()
            assert(c:send("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: 1\r\n"))
            local t0 = S.now()
            local res, extra, kind = c:read_final(3)
            local t = S.now() - t0
            assert.are.equal("HTTP/1.1", res.version)
            assert.are.equal(408, res.status, q(res.raw))
            assert.is_true(res:has_token("Connection", "close"), res.raw_head)
            assert.are.equal("", extra)
            assert.are.equal("fin", kind)
            assert.is_true(t >= 0.25 and t < 1.5, "408 after " .. t .. "s with --header-timeout 0.3")
            c:close()
        end)

        it("closes a new connection that sends nothing within --header-timeout, with a FIN",
            function()
                local c = srv:connect()
                local t0 = S.now()
                local data, kind = c:read_until_close(3)
                local t = S.now() - t0
                assert.are_not.equal("timeout", kind, "still open after 3s")
                -- nothing was asked: silence or a 408, never anything else
                if data ~= "" then
                    assert.is_truthy(data:match("^HTTP/1%.1 408 "), q(data))
                    assert.is_truthy(data:lower():find("\r\nconnection: close\r\n", 1, true), q(data))
                end
                assert.are.equal("fin", kind)
                assert.is_true(t >= 0.25 and t < 1.5, "closed after " .. t .. "s")
                c:close()
            end)

        it("answers 408 to a Content-Length body that stalls past --body-timeout, then FIN",
            function()
                local c = srv:connect()
                assert(c:send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
                    .. string.rep("b", 10)))
                local t0 = S.now()
                local res, extra, kind = c:read_final(3)
                local t = S.now() - t0
                assert.are.equal(408, res.status, q(res.raw))
                assert.is_true(res:has_token("Connection", "close"), res.raw_head)
                assert.are.equal("", extra)
                assert.are.equal("fin", kind)
                assert.is_true(t >= 0.25 and t < 1.5, "408 after " .. t .. "s with --body-timeout 0.3")
                c:close()
            end)
    end)

    describe("--header-timeout and --body-timeout against a slow client", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = ECHO, args = { "--header-timeout", "0.3", "--body-timeout", "0.3",
            "--send-timeout", "0.5", "--keepalive-timeout", "2" } })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("counts the header timeout over the whole head, not between bytes", function()
            local c = srv:connect()
            local t0 = S.now()
            local raw = "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
            local closed = false
            for i = 1, 40 do
                local ok = c:send(i <= #raw and raw:sub(i, i) or "s", 1)
                if not ok then
                    closed = true
                    break
                end
                if not c:is_open(0.05) then
                    closed = true
                    break
                end
            end
            local elapsed = S.now() - t0
            assert.is_true(closed, "a head trickled in for " .. elapsed .. "s was never cut off")
            assert.is_true(elapsed < 1.5, "cut off only after " .. elapsed .. "s")
            c:close()
        end)

        it("keeps a body that makes progress within --body-timeout", function()
            local c = srv:connect()
            local body = string.rep("p", 10)
            assert(c:send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n"))
            assert(c:send_slowly(body, 1, 0.1)) -- 1 s in all, 0.1 s between bytes
            local res = assert(c:read_response())
            assert.are.equal(200, res.status)
            assert.are.equal(body, require("cjson").decode(res.body).body)
            c:close()
        end)
    end)

    describe("--send-timeout", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = ECHO, args = { "--send-timeout", "0.5", "--high-water", "16384" } })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("drops (reset) a client that never reads /bytes/50000000 about --send-timeout after the last progress",
            function()
                local n = 50000000
                local c = srv:connect()
                assert(c:send(S.get("/bytes/" .. n)))
                -- do not read: watch the kernel's state of our socket until the reset removes it
                local st, t = c:wait_tcp_state(function(s) return s == nil end, 5)
                assert.is_truthy(st, "no reset within 5s; tcp state " .. tostring(c:tcp_state()))
                -- the buffers fill within milliseconds on loopback; then 0.5 s without progress
                assert.is_true(t >= 0.4 and t < 2.5, "dropped after " .. t .. "s with --send-timeout 0.5")
                local data, kind = c:read_until_close(3)
                assert.are.equal("reset", kind)
                assert.is_true(#data < n, "the whole body arrived")
                c:close()
                assert.are.equal("xx", assert(srv:fetch(S.get("/bytes/2"))).body)
            end)
    end)
end)
