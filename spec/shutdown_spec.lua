-- Graceful shutdown (issue 4, "Workers and signals"): on SIGTERM or SIGINT the server stops
-- accepting, answers the requests in flight (with Connection: close), closes idle keep-alive
-- connections with a FIN, gives in-flight requests up to --shutdown-timeout, then exits 0; a
-- second SIGINT exits at once. The same for a single process and for a master with workers
-- (which must leave no worker behind). spec/apps/workers.lua: /sleep?ms=N answers
-- "slept N PID" after N ms without blocking the loop; /pid answers the pid. A request waiting
-- behind a busy loop at SIGTERM, and one that crosses the FIN of an idle connection, use
-- spec/apps/lifecycle.lua (/busy, /ping).

local S = require("spec.support.server")

local APP = S.app("workers.lua")
local LIFECYCLE = S.app("lifecycle.lua")

local q = S.q

-- A keep-alive connection that has had one response (so it is idle, not new); returns it and
-- the pid that answered.
local function idle_conn(srv)
    local c, res = srv:idle_conn("/pid")
    assert.are.equal(200, res.status)
    return c, tonumber(res.body)
end

-- The same on spec/apps/lifecycle.lua.
local function idle_ping_conn(srv)
    local c, res = srv:idle_conn("/ping", 3)
    assert.are.equal("pong", res.body)
    return c
end

-- Starts /sleep?ms=MS on a fresh connection and returns the connection once the request is in
-- the server's hands (a little while after sending).
local function start_slow(srv, ms)
    local c = srv:connect()
    assert(c:send(S.get("/sleep?ms=" .. ms)))
    S.sleep(0.15)
    return c
end

-- Asserts that a new connection is not served: refused, or never answered.
local function assert_not_accepting(port)
    local ok, c = pcall(S.connect, port, 0.5)
    if not ok then
        return
    end
    c:send(S.get("/pid"))
    local res = c:read_response({ timeout = 0.3 })
    c:close()
    assert.is_nil(res, "a connection opened after the signal was served")
end

-- Stops the server if it still runs, and kills any of its workers that outlived it (by pid).
local function cleanup(srv, kids)
    srv:stop()
    for _, p in ipairs(kids or {}) do
        if S.pid_alive(p) then
            S.kill_pid(p, "KILL")
        end
    end
end

local function all_dead(pids)
    for _, p in ipairs(pids) do
        if S.pid_alive(p) then
            return false
        end
    end
    return true
end

describe("graceful shutdown of a single process", function()
    it("on SIGTERM: finishes the request in flight with Connection: close, closes an idle keep-alive connection with a FIN, stops accepting, exits 0",
        function()
            local srv = S.start_any({ app = APP })
            finally(function() srv:stop() end)
            local idle = idle_conn(srv)
            local slow = start_slow(srv, 800)
            local t0 = S.now()
            srv:signal("TERM")
            -- the idle connection is closed at once, cleanly, with nothing sent
            local kind, extra = idle:wait_close(0.5)
            local idle_after = S.now() - t0
            assert.are.equal("fin", kind, "idle connection after SIGTERM: " .. kind)
            assert.are.equal("", extra)
            assert.is_true(idle_after < 0.5, "idle connection closed after " .. idle_after .. " s")
            idle:close()
            assert.is_true(srv:alive(), "exited with a request in flight")
            assert_not_accepting(srv.port)
            -- the request in flight gets its whole response, then the connection ends with a FIN
            local res = assert(slow:read_response({ timeout = 3 }))
            assert.are.equal(200, res.status)
            assert.are.equal("slept 800 " .. srv.pid, res.body)
            assert.is_true(res:has_token("Connection", "close"), res.raw_head)
            assert.are.equal("fin", (slow:wait_close(1)))
            slow:close()
            local t = srv:assert_clean_exit(3)
            assert.is_true(t < 1, "exit " .. t .. " s after the last response")
        end)

    it("on SIGINT with nothing in flight: exits 0 at once, idle connections get a FIN", function()
        local srv = S.start_any({ app = APP })
        finally(function() srv:stop() end)
        local a, b = idle_conn(srv), idle_conn(srv)
        srv:signal("INT")
        assert.are.equal("fin", (a:wait_close(1)))
        assert.are.equal("fin", (b:wait_close(1)))
        a:close()
        b:close()
        local t = srv:assert_clean_exit(3)
        assert.is_true(t < 1, "exit took " .. t .. " s")
    end)

    it("drops a request still running after --shutdown-timeout 0.5, then exits 0", function()
        local srv = S.start_any({ app = APP, args = { "--shutdown-timeout", "0.5" } })
        finally(function() srv:stop() end)
        local slow = start_slow(srv, 5000)
        local t0 = S.now()
        srv:signal("TERM")
        local data, kind = slow:read_until_close(3)
        local dropped = S.now() - t0
        slow:close()
        assert.are_not.equal("timeout", kind, "the connection was not dropped within 3 s")
        assert.is_falsy(data:find("slept", 1, true), "the handler finished: " .. data)
        assert.is_true(dropped >= 0.4 and dropped < 1.5,
            "dropped " .. dropped .. " s after SIGTERM with --shutdown-timeout 0.5")
        srv:assert_clean_exit(1.5)
        assert.is_true(S.now() - t0 < 2, "exit " .. (S.now() - t0) .. " s after SIGTERM")
    end)

    it("waits for a request in flight, but a second SIGINT exits at once", function()
        local srv = S.start_any({ app = APP })
        finally(function() srv:stop() end)
        local slow = start_slow(srv, 5000)
        srv:signal("INT")
        S.sleep(0.3)
        assert.is_true(srv:alive(), "the first SIGINT did not wait for the request in flight")
        local t0 = S.now()
        srv:signal("INT")
        local st = srv:wait_exit(2)
        local t = S.now() - t0
        assert.is_truthy(st, "still running 2 s after the second SIGINT")
        assert.is_true(t < 0.5, "exit " .. t .. " s after the second SIGINT")
        local _, kind = slow:read_until_close(1)
        slow:close()
        assert.are_not.equal("timeout", kind)
    end)

    it("serves a request that was already waiting behind a busy handler at SIGTERM, with Connection: close, then exits 0",
        function()
            -- (a budget above the busy loop even on a loaded machine, where 500 ms of CPU can
            -- take longer than the default 2 s)
            local srv = S.start({ app = LIFECYCLE, args = { "--handler-budget", "5" } })
            finally(function() srv:stop() end)
            local a = srv:connect()
            assert(a:send(S.get("/busy?ms=500")))
            S.sleep(0.1) -- the handler now blocks the loop
            local b = srv:connect() -- accepted by the kernel, not yet by the blocked server
            assert(b:send(S.get("/ping")))
            S.sleep(0.05)
            srv:signal("TERM") -- still inside the busy loop
            local ra, aerr, apartial = a:read_response({ timeout = 4 })
            assert.is_truthy(ra, "busy request: " .. tostring(aerr) .. " got "
                .. q(apartial and apartial.raw))
            -- (its head went out before the loop saw the signal: keep-alive is right there)
            assert.are.equal("busy done", ra.body)
            local rb, berr, bpartial = b:read_response({ timeout = 4 })
            local braw = bpartial and bpartial.raw or ""
            assert.is_truthy(rb, "the waiting request got no complete response: " .. tostring(berr)
                .. ", bytes " .. q(braw) .. ", end " .. tostring(b.eof and b:end_kind()))
            assert.are.equal(200, rb.status, rb.raw)
            assert.are.equal("pong", rb.body)
            assert.is_true(rb:has_token("Connection", "close"), rb.raw_head)
            assert.are.equal("fin", (b:wait_close(2)))
            a:close()
            b:close()
            srv:assert_clean_exit(5)
        end)

    it("closes an idle keep-alive connection at SIGTERM with a FIN, drops a request that crosses it without a reset, exits 0 soon",
        function()
            -- defaults: --linger-time 30, --shutdown-timeout 10; neither may hold up the exit
            local srv = S.start({ app = LIFECYCLE })
            finally(function() srv:stop() end)
            local c = idle_ping_conn(srv)
            local t0 = S.now()
            srv:signal("TERM")
            local st, t = c:wait_tcp_state(function(s) return s ~= "01" end, 2)
            assert.are.equal("08", st, "the idle connection did not end with a FIN within 2 s "
                .. "(state " .. tostring(c:tcp_state()) .. ")")
            assert.is_true(t < 2, "FIN " .. tostring(t) .. " s after SIGTERM")
            -- a request that crosses the FIN is read and dropped, not answered with a reset
            assert(c.sock:send(S.get("/ping")))
            S.sleep(0.2)
            assert.are.equal("08", c:tcp_state(), "the crossing request drew a reset")
            local extra, kind = c:read_until_close(1)
            assert.are.equal("", extra, "the crossing request was answered")
            assert.are.equal("fin", kind)
            c:close()
            srv:assert_clean_exit(4.5)
            local total = S.now() - t0
            assert.is_true(total < 2.5, "exit " .. total .. " s after SIGTERM")
        end)
end)

describe("graceful shutdown of a master with 2 workers", function()
    -- One idle keep-alive connection on each worker.
    local function idle_on_each(srv, n)
        local by_pid, list = {}, {}
        for _ = 1, 100 do
            local c, pid = idle_conn(srv)
            if by_pid[pid] then
                c:close()
            else
                by_pid[pid] = c
                list[#list + 1] = c
            end
            if #list == n then
                break
            end
        end
        assert.are.equal(n, #list, "could not reach every worker")
        return list
    end

    it("on SIGTERM: the request in flight finishes with Connection: close, idle connections on every worker get a FIN, exit 0, no worker left",
        function()
            local srv = S.start_any({ app = APP, args = { "--workers", "2" } })
            local kids = {}
            finally(function() cleanup(srv, kids) end)
            kids = assert(srv:wait_children(2, 3))
            local idle = idle_on_each(srv, 2)
            local slow = start_slow(srv, 800)
            local t0 = S.now()
            srv:signal("TERM")
            for i, c in ipairs(idle) do
                local kind, extra = c:wait_close(0.5)
                assert.are.equal("fin", kind, "idle connection " .. i .. ": " .. kind)
                assert.are.equal("", extra)
                c:close()
            end
            assert.is_true(S.now() - t0 < 0.6, "idle connections closed after " .. (S.now() - t0) .. " s")
            assert.is_true(srv:alive(), "the master exited with a request in flight")
            assert_not_accepting(srv.port)
            local res = assert(slow:read_response({ timeout = 3 }))
            assert.are.equal(200, res.status)
            assert.is_truthy(res.body:find("^slept 800 %d+$"), res.body)
            assert.is_true(res:has_token("Connection", "close"), res.raw_head)
            assert.are.equal("fin", (slow:wait_close(1)))
            slow:close()
            srv:assert_clean_exit(3)
            assert.is_true(all_dead(kids), "a worker outlived the master: " .. table.concat(kids, " "))
            local ok = pcall(S.connect, srv.port, 0.5)
            assert.is_false(ok, "something still accepts on the port")
        end)

    it("on SIGINT with nothing in flight: exits 0 at once and leaves no worker", function()
        local srv = S.start_any({ app = APP, args = { "--workers", "2" } })
        local kids = {}
        finally(function() cleanup(srv, kids) end)
        kids = assert(srv:wait_children(2, 3))
        srv:signal("INT")
        local t = srv:assert_clean_exit(3)
        assert.is_true(t < 1, "exit took " .. t .. " s")
        assert.is_true(all_dead(kids), "a worker outlived the master: " .. table.concat(kids, " "))
    end)

    it("drops a request still running after --shutdown-timeout 0.5, exits 0 and leaves no worker",
        function()
            local srv = S.start_any({ app = APP, args = { "--workers", "2", "--shutdown-timeout", "0.5" } })
            local kids = {}
            finally(function() cleanup(srv, kids) end)
            kids = assert(srv:wait_children(2, 3))
            local slow = start_slow(srv, 5000)
            local t0 = S.now()
            srv:signal("TERM")
            local data, kind = slow:read_until_close(3)
            local dropped = S.now() - t0
            slow:close()
            assert.are_not.equal("timeout", kind, "the connection was not dropped within 3 s")
            assert.is_falsy(data:find("slept", 1, true), "the handler finished: " .. data)
            assert.is_true(dropped >= 0.4 and dropped < 1.5,
                "dropped " .. dropped .. " s after SIGTERM with --shutdown-timeout 0.5")
            srv:assert_clean_exit(1.5)
            assert.is_true(S.now() - t0 < 2, "exit " .. (S.now() - t0) .. " s after SIGTERM")
            assert.is_true(all_dead(kids), "a worker outlived the master: " .. table.concat(kids, " "))
        end)

    it("a second SIGINT to the master exits at once and leaves no worker serving", function()
        local srv = S.start_any({ app = APP, args = { "--workers", "2" } })
        local kids = {}
        finally(function() cleanup(srv, kids) end)
        kids = assert(srv:wait_children(2, 3))
        local slow = start_slow(srv, 5000)
        srv:signal("INT")
        S.sleep(0.3)
        assert.is_true(srv:alive(), "the first SIGINT did not wait for the request in flight")
        local t0 = S.now()
        srv:signal("INT")
        local st = srv:wait_exit(2)
        local t = S.now() - t0
        assert.is_truthy(st, "still running 2 s after the second SIGINT")
        assert.is_true(t < 0.5, "exit " .. t .. " s after the second SIGINT")
        local _, kind = slow:read_until_close(1)
        slow:close()
        assert.are_not.equal("timeout", kind)
        assert.is_truthy(S.wait_for(function() return all_dead(kids) end, 1),
            "a worker outlived the master by 1 s: " .. table.concat(kids, " "))
    end)
end)
