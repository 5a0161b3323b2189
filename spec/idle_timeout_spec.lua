-- The keep-alive idle timeout (--keepalive-timeout; docs/ARCHITECTURE.md, the connection
-- contract, point 5): an idle keep-alive connection is closed with a FIN, never a reset, once
-- the timeout has passed since its last response, and not while a handler runs or while the
-- client sends only empty lines; a request that crosses the FIN draws no reset.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")
local ECHO = S.root .. "/apps/echo"

-- The kernel's table of TCP sockets to `port`, read once: local port -> state (hex), skipping
-- TIME_WAIT leftovers of earlier connections.
local function tcp_states(port)
    local t = {}
    for line in io.lines("/proc/net/tcp") do
        local l, r, st = line:match("^%s*%d+:%s+%x+:(%x+)%s+%x+:(%x+)%s+(%x+)")
        if l and tonumber(r, 16) == port and st ~= "06" then
            t[tonumber(l, 16)] = st
        end
    end
    return t
end

-- A keep-alive connection that has had one response (so it is idle, not new).
local function idle_conn(srv)
    local c, res = srv:idle_conn("/ping", 3)
    assert.are.equal("pong", res.body)
    return c
end

describe("keep-alive idle timeout", function()
    describe("of 0.3 s", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = LIFECYCLE, args = { "--keepalive-timeout", "0.3" } })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("restarts the idle timeout after each response", function()
            local c = srv:connect()
            for _ = 1, 4 do
                assert(c:send(S.get("/ping")))
                assert.are.equal("pong", assert(c:read_response()).body)
                S.sleep(0.15)
            end
            local _, kind = c:read_until_close(3)
            assert.are.equal("fin", kind)
            c:close()
        end)

        it("does not time out a request whose handler is still running", function()
            local c = srv:connect()
            assert(c:send(S.get("/abort-sleep?ms=700")))
            local res = assert(c:read_response({ timeout = 5 }))
            assert.are.equal(200, res.status)
            assert.are.equal(5000, #res.body)
            c:close()
        end)
    end)

    describe("of 0.3 s, with lingering after the FIN", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = ECHO, args = { "--keepalive-timeout", "0.3", "--header-timeout", "5",
            "--linger-idle", "0.5", "--linger-time", "2" } })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("closes 50 idle keep-alive connections with a FIN each, never a reset", function()
            local conns, done_at, fin_after = {}, {}, {}
            finally(function()
                for _, c in ipairs(conns) do
                    c:close()
                end
            end)
            for i = 1, 50 do
                conns[i] = srv:connect()
                assert(conns[i]:send(S.get("/bytes/1")))
            end
            for i = 1, 50 do
                local res = assert(conns[i]:read_response())
                assert.are.equal("x", res.body)
                assert.is_false(res:has_token("Connection", "close"))
                done_at[i] = S.now()
            end
            -- watch all 50 at once in the kernel's table (CLOSE_WAIT = the server's FIN came;
            -- gone = reset), without reading
            local left = 50
            local deadline = S.now() + 3
            while left > 0 and S.now() < deadline do
                local states = tcp_states(srv.port)
                for i = 1, 50 do
                    if not fin_after[i] then
                        local st = states[conns[i].lport]
                        if st ~= "01" then
                            fin_after[i] = { st or "reset", S.now() - done_at[i] }
                            left = left - 1
                        end
                    end
                end
                S.sleep(0.01)
            end
            for i = 1, 50 do
                assert.is_truthy(fin_after[i], "connection " .. i .. " still open after 3s")
                local st, t = fin_after[i][1], fin_after[i][2]
                assert.are.equal("08", st, "connection " .. i .. " ended in state " .. st)
                assert.is_true(t >= 0.2 and t < 1.5, "connection " .. i .. " closed after " .. t .. "s")
                local extra, kind = conns[i]:read_until_close(1)
                assert.are.equal("", extra, "connection " .. i)
                assert.are.equal("fin", kind, "connection " .. i)
            end
        end)

        it("draws no reset for a request that crosses the idle FIN (the keep-alive race)", function()
            -- The server closes the idle connection just as the client sends its next request.
            -- If the server close()d at once, the request would hit a closed socket and the kernel
            -- would answer with a reset; closed "with a FIN, never a reset", the request is read
            -- and dropped (the client sees a clean end and can retry).
            local c = srv:connect()
            assert(c:send(S.get("/bytes/1")))
            assert.are.equal("x", assert(c:read_response()).body)
            local st, t = c:wait_tcp_state(function(s) return s ~= "01" end, 3)
            assert.are.equal("08", st, "the idle connection did not end with a FIN")
            assert.is_true(t >= 0.2, "FIN after only " .. t .. "s")
            assert(c.sock:send(S.get("/bytes/2"))) -- the crossing request
            S.sleep(0.3)
            assert.are.equal("08", c:tcp_state(), "the crossing request drew a reset")
            local extra, kind = c:read_until_close(1)
            assert.are.equal("", extra, "the crossing request was answered after the FIN")
            assert.are.equal("fin", kind)
            c:close()
        end)
    end)

    describe("of 1 s", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = LIFECYCLE, args = { "--keepalive-timeout", "1" } })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("closes an idle keep-alive connection after --keepalive-timeout 1 even while the client sends bare CRLFs",
            function()
                local c = idle_conn(srv)
                local t0 = S.now()
                local next_crlf = t0 + 0.3
                local st
                while S.now() - t0 < 2.5 do
                    st = c:tcp_state()
                    if st ~= "01" then
                        break
                    end
                    if S.now() >= next_crlf then
                        assert(c.sock:send("\r\n"))
                        next_crlf = next_crlf + 0.3
                    end
                    S.sleep(0.01)
                end
                local t = S.now() - t0
                assert.are.equal("08", st, "still established (or reset) " .. t
                    .. " s after the response, with a CRLF every 0.3 s")
                assert.is_true(t >= 0.8 and t < 1.6, "FIN " .. t .. " s after the response")
                local extra, kind = c:read_until_close(1)
                assert.are.equal("", extra)
                assert.are.equal("fin", kind)
                c:close()
            end)
    end)
end)
