-- Workers under a master (issue 4, "Workers and signals"): --workers N starts N processes
-- sharing one port, and a worker that dies is replaced within a second (with backoff when it
-- dies in a loop). The memory cap per worker is in lua_memory_limit_spec.lua, stopping a master
-- in shutdown_spec.lua. spec/apps/workers.lua answers with the pid of the process that served
-- the request.

local S = require("spec.support.server")

local APP = S.app("workers.lua")

local function contains(list, x)
    for _, v in ipairs(list) do
        if v == x then
            return true
        end
    end
    return false
end

local function count_keys(t)
    local n = 0
    for _ in pairs(t) do
        n = n + 1
    end
    return n
end

-- Lines of the log that mention "pid P" (the master's lines about worker P).
local function lines_about(log, pid)
    local out = {}
    for line in log:gmatch("[^\n]+") do
        if line:find("%f[%d]" .. pid .. "%f[%D]") then
            out[#out + 1] = line
        end
    end
    return out
end

describe("--workers N", function()
    it("starts N worker processes under the master and says so on the listening line", function()
        local srv = S.start_any({ app = APP, args = { "--workers", "3" } })
        finally(function() srv:stop() end)
        assert.are.equal(3, srv.workers, srv.listen_line)
        local kids, seen = srv:wait_children(3, 3)
        assert.is_truthy(kids, "children of the master: " .. table.concat(seen, " "))
        for _, k in ipairs(kids) do
            assert.are_not.equal(srv.pid, k)
        end
        -- and it stays at 3: no worker exits on its own
        S.sleep(0.3)
        assert.are.same(kids, srv:children())
        assert.are.equal(0, srv:stop())
    end)

    it("--workers auto starts one worker per core", function()
        local p = assert(io.popen("nproc"))
        local cores = tonumber(p:read("l"))
        p:close()
        local srv = S.start_any({ app = APP, args = { "--workers", "auto" } })
        finally(function() srv:stop() end)
        assert.are.equal(cores, srv.workers, srv.listen_line)
        local kids, seen = srv:wait_children(cores, 3)
        assert.is_truthy(kids, "children of the master: " .. table.concat(seen, " "))
        assert.are.equal(200, (srv:get_body("/pid")))
        assert.are.equal(0, srv:stop())
    end)

    describe("with 2 workers", function()
        local srv

        lazy_setup(function()
            srv = S.start_any({ app = APP, args = { "--workers", "2" } })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("serves from every worker on the one port", function()
            local kids = assert(srv:wait_children(2, 3))
            local pids, n = {}, 0
            S.wait_for(function()
                n = n + 1
                local status, body = srv:get_body("/pid")
                assert.are.equal(200, status, tostring(body))
                local pid = tonumber(body)
                assert.is_true(contains(kids, pid),
                    "answer from pid " .. tostring(body) .. ", not a worker of " .. srv.pid)
                pids[pid] = true
                return count_keys(pids) == 2
            end, 3, 0)
            assert.are.equal(2, count_keys(pids), "only one worker answered " .. n .. " connections")
        end)

        it("replaces a worker killed with SIGKILL within a second, and requests keep succeeding",
            function()
                local kids = assert(srv:wait_children(2, 3))
                local victim, other = kids[1], kids[2]
                S.kill_pid(victim, "KILL")
                local t0 = S.now()
                assert.is_truthy(S.wait_for(function() return not S.pid_alive(victim) end, 1),
                    "the killed worker is still there")
                -- new connections go to the surviving worker meanwhile
                local status, body = srv:get_body("/pid")
                assert.are.equal(200, status, tostring(body))
                local now, seen = srv:wait_children(2, 1.5, { victim })
                local took = S.now() - t0
                assert.is_truthy(now, "children 1.5 s after the kill: " .. table.concat(seen, " ")
                    .. "\n" .. srv:log())
                assert.is_true(took <= 1.0, "replaced after " .. took .. " s")
                assert.is_true(contains(now, other), "the surviving worker was replaced too")
                local fresh = now[1] == other and now[2] or now[1]
                -- every request succeeds, and the new worker takes its share
                local from_new = false
                local deadline = S.now() + 3
                local n = 0
                while S.now() < deadline and (not from_new or n < 20) do
                    n = n + 1
                    local st, b = srv:get_body("/pid")
                    assert.are.equal(200, st, "request " .. n .. ": " .. tostring(b))
                    assert.is_true(tonumber(b) == other or tonumber(b) == fresh, b)
                    from_new = from_new or tonumber(b) == fresh
                end
                assert.is_true(from_new, "the new worker " .. fresh .. " answered none of " .. n)
                -- the master said what happened, with the signal
                local about = table.concat(lines_about(srv:log(), victim), "\n")
                assert.is_truthy(about:find("9", 1, true) or about:find("KILL", 1, true), about)
            end)

        it("replaces a worker that exits with a status, and logs the status", function()
            local c = srv:connect()
            assert(c:send(S.get("/pid")))
            local victim = tonumber(assert(c:read_response()).body)
            assert(c:send(S.get("/exit?code=3")))
            local kind = c:wait_close(2)
            c:close()
            assert.are_not.equal("timeout", kind, "the worker did not exit")
            local now, seen = srv:wait_children(2, 1.5, { victim })
            assert.is_truthy(now, "children after the exit: " .. table.concat(seen, " "))
            local about = table.concat(lines_about(srv:log(), victim), "\n")
            assert.is_truthy(about:find("%f[%d]3%f[%D]"), "no exit status 3 in:\n" .. about)
            for _ = 1, 10 do
                assert.are.equal(200, (srv:get_body("/pid")))
            end
        end)
    end)

    it("backs off restarting a worker that dies right after each start, and keeps serving with the others",
        function()
            local dir = S.mktempdir()
            local srv
            finally(function() -- (busted keeps only the last finally of a test)
                if srv then
                    srv:stop()
                end
                os.execute("rm -rf " .. S.shquote(dir))
            end)
            srv = S.start_any({ app = APP, args = { "--workers", "2" },
                env = { LUNASERVE_SPEC_DIR = dir } })
            local kids = assert(srv:wait_children(2, 3))
            local function loads()
                local n = 0
                for _ in (S.read_file(dir .. "/loads") or ""):gmatch("[^\n]+") do
                    n = n + 1
                end
                return n
            end
            -- one connection on each worker
            local by_pid, n = {}, 0
            for _ = 1, 100 do
                local c = srv:connect()
                assert(c:send(S.get("/pid")))
                local p = tonumber(assert(c:read_response()).body)
                if by_pid[p] then
                    c:close()
                else
                    by_pid[p], n = c, n + 1
                end
                if n == 2 then
                    break
                end
            end
            assert.are.equal(2, n, "could not reach both workers")
            local survivor, victim = kids[1], kids[2]
            by_pid[survivor]:close()
            -- the victim's next load exits, and so does every load after it
            local before = loads()
            local c = by_pid[victim]
            assert(c:send(S.get("/crash-loop")))
            c:wait_close(2)
            c:close()
            local t0 = S.now()
            local failures = {}
            while S.now() - t0 < 2.5 do
                local st, b = srv:get_body("/pid")
                if st ~= 200 or tonumber(b) ~= survivor then
                    failures[#failures + 1] = tostring(st) .. " " .. tostring(b)
                end
                S.sleep(0.02)
            end
            local attempts = loads() - before
            assert.are.same({}, failures)
            assert.is_true(S.pid_alive(survivor))
            assert.is_true(attempts >= 2, "only " .. attempts .. " restart(s) in 2.5 s:\n" .. srv:log())
            assert.is_true(attempts <= 12, attempts .. " restarts in 2.5 s: no backoff")
            -- once loading works again, a second worker serves again
            os.remove(dir .. "/crash-on-load")
            local back = S.wait_for(function()
                local st, b = srv:get_body("/pid")
                return st == 200 and tonumber(b) ~= survivor
            end, 8, 0.05)
            assert.is_truthy(back, "no second worker 8 s after the crash loop ended:\n" .. srv:log())
            assert.are.equal(2, #srv:children())
            assert.are.equal(0, srv:stop())
        end)
end)
