-- 10,000 requests that each open a socket and forget it (no close) leave the worker's fd count
-- (/proc/PID/fd) and memory flat (issue 10, "Bounded and owned"): each socket is closed when
-- its handler ends (the upstream sees every connection closed). The same for sockets closed
-- and collected at once, before their close has finished. Requests go pipelined, 100 at a
-- time, on keep-alive connections.

local S = require("spec.support.server")
local C = require("spec.support.cosocket")

local N = 10000
local BATCH = 100

describe("sockets that handlers forget", function()
    local env, asan

    lazy_setup(function()
        env = C.start(C.small_quarantine())
        local maps = S.read_file("/proc/" .. env.srv.pid .. "/maps") or ""
        asan = maps:find("libasan", 1, true) ~= nil
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    local function fds()
        local p = assert(io.popen("ls /proc/" .. env.srv.pid .. "/fd | wc -l"))
        local n = tonumber(p:read("a"))
        p:close()
        return n
    end

    -- n requests for `target`, pipelined BATCH at a time; each answer must be `body`
    local function requests(n, target, body)
        local c
        local done = 0
        while done < n do
            if done % 1000 == 0 then -- (--max-requests: 1000 a connection)
                if c then
                    c:close()
                end
                c = env.srv:connect()
            end
            local k = math.min(BATCH, n - done)
            assert(c:send(string.rep(S.get(target), k)))
            for _ = 1, k do
                local res = assert(c:read_response({ timeout = 10 }))
                assert.are.equal(200, res.status)
                assert.are.equal(body, res.body)
            end
            done = done + k
        end
        c:close()
    end

    -- Runs `round` once to warm up, measures, runs it `times` times, then waits (bounded)
    -- until the server's fds and the upstream's open connections are back where they were;
    -- asserts that, and the resident memory within the margin.
    local function flat(round, times)
        round()
        S.sleep(0.2)
        local fd0, open0, rss0 = fds(), env.up:open_count(), env.srv:status_kb("VmRSS")
        for _ = 1, times do
            round()
        end
        local fd1, open1
        S.wait_for(function()
            fd1, open1 = fds(), env.up:open_count()
            return fd1 <= fd0 and open1 <= open0
        end, 5, 0.05)
        local rss1 = env.srv:status_kb("VmRSS")
        assert.are.equal(fd0, fd1, "the server's open fds")
        assert.are.equal(open0, open1, "connections the upstream still sees open")
        local margin = asan and 16 * 1024 or 1024
        assert.is_true(rss1 - rss0 <= margin, string.format(
            "resident memory grew by %d KiB (%d -> %d KiB, margin %d KiB)",
            rss1 - rss0, rss0, rss1, margin))
    end

    it("10,000 requests that each open a socket and forget it leave fds and memory flat",
        function()
            local target = "/forget?" .. env:query({})
            local accepted0 = env.up:accepted()
            flat(function() requests(1000, target, "ok") end, N / 1000)
            assert.are.equal(accepted0 + N + 1000, env.up:accepted())
        end)

    it("sockets closed and collected at once leave fds and memory flat", function()
        local target = "/close_collect?" .. env:query({ n = 1000 })
        flat(function() requests(1, target, "ok") end, 10)
    end)
end)
