-- Beyond one machine: three lunaserve hosts, each with --workers 2, serve apps/todo on one
-- PostgreSQL behind HAProxy (deploy/haproxy.cfg, the README's example, with health checks),
-- under steady load from wrk:
-- - a rolling reload of every host: no request fails;
-- - a rolling restart, each host drained by HAProxy first, then SIGTERM and started again:
--   no request fails;
-- - one host killed with -9: only requests in flight on it may fail (the count is printed),
--   and HAProxy takes it out within its check interval (200 ms, two failures).

local S = require("spec.support.server")
local P = require("spec.support.postgres")
local H = require("spec.support.haproxy")
local W = require("spec.support.wrk")
local cjson = require("cjson")

local TODO = S.root .. "/apps/todo"
local CONNS = 16

describe("three hosts behind HAProxy", function()
    local pg, hap
    local hosts, ports = {}, {}

    local function start_host(i, port)
        hosts[i] = S.start_any({ app = TODO, port = port,
            args = { "--workers", "2", "--keepalive-timeout", "10" },
            env = { DATABASE_URL = pg.url } })
        ports[i] = hosts[i].port
    end

    lazy_setup(function()
        pg = P.start()
        for i = 1, 3 do
            start_host(i)
        end
        for i = 1, 5 do -- something to list
            local c = hosts[1]:connect()
            local body = cjson.encode({ title = "item " .. i })
            assert(c:send("POST /todos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                .. "Content-Length: " .. #body .. "\r\n\r\n" .. body))
            assert.are.equal(201, assert(c:read_response({ timeout = 5 })).status)
            c:close()
        end
        hap = H.start({ "127.0.0.1:" .. ports[1], "127.0.0.1:" .. ports[2], "127.0.0.1:" .. ports[3] })
        for i = 1, 3 do
            assert(hap:wait_status("h" .. i, "UP", 10), "h" .. i .. " is not UP")
        end
    end)

    lazy_teardown(function()
        if hap then hap:stop() end
        for _, h in pairs(hosts) do
            if h:alive() then h:stop() end
        end
        if pg then pg:stop() end
    end)

    local function url()
        return "http://127.0.0.1:" .. hap.port .. "/todos?limit=5"
    end

    local function report(what, r)
        print(string.format("\n%s: %d requests, %d socket errors, %d non-2xx", what, r.requests,
            r.errors, r.non2xx))
    end

    -- (each load runs until its steps are done, then a little longer, and at least as long as
    -- a request count asserted below needs on a slow (ASan, loaded) machine, then is stopped:
    -- the time given to wrk is only a bound)
    it("loses no request in a rolling reload", function()
        local run = W.start(url(), 40, CONNS)
        S.sleep(1.5)
        for i = 1, 3 do
            hosts[i]:signal("HUP")
            -- one host at a time: the next one once both of this one's workers run the new code
            local ok, log = hosts[i]:wait_log("reloaded ", 15, 2)
            assert(ok, "host " .. i .. " did not reload both workers:\n" .. log)
            S.sleep(0.5)
        end
        local r = run:stop(8)
        report("rolling reload", r)
        assert.is_true(r.requests > 1000, r.text)
        assert.are.same({ 0, 0 }, { r.errors, r.non2xx }, r.text)
        for i = 1, 3 do
            local log = hosts[i]:log()
            assert.is_truthy(log:find("reload", 1, true), "host " .. i .. " did not reload:\n" .. log)
        end
    end)

    it("loses no request in a rolling restart, each host drained by HAProxy first", function()
        local run = W.start(url(), 60, CONNS)
        S.sleep(1)
        for i = 1, 3 do
            local name = "todo/h" .. i
            hap:command("disable server " .. name) -- maintenance: no new requests go there
            assert(hap:wait_status("h" .. i, "MAINT", 5))
            assert(S.wait_for(function() return hap:servers()["h" .. i].scur == 0 end, 5),
                "h" .. i .. " still has requests")
            hosts[i]:stop_ok() -- SIGTERM: what is in flight finishes, then exit 0
            start_host(i, ports[i])
            hap:command("enable server " .. name)
            assert(hap:wait_status("h" .. i, "UP", 10), "h" .. i .. " did not come back")
        end
        S.sleep(1) -- load on all three again
        local r = run:stop(8)
        report("rolling restart", r)
        assert.is_true(r.requests > 1000, r.text)
        assert.are.same({ 0, 0 }, { r.errors, r.non2xx }, r.text)
    end)

    it("fails at most the requests in flight when a host is killed with -9, and routes around it",
        function()
            local run = W.start(url(), 40, CONNS)
            S.sleep(2)
            local victim = hosts[3]
            local pids = { victim.pid }
            for _, p in ipairs(victim:children()) do pids[#pids + 1] = p end
            os.execute("kill -9 " .. table.concat(pids, " "))
            local t0 = S.now()
            assert(hap:wait_status("h3", "DOWN", 5), "HAProxy did not take h3 out")
            local took = S.now() - t0
            print(string.format("\nh3 killed: HAProxy marked it DOWN after %.2f s", took))
            assert.is_true(took < 1.5, "took " .. took .. " s")
            S.sleep(1.5) -- load on the two left
            local r = run:stop()
            report("kill -9 of one host", r)
            assert.is_true(r.errors + r.non2xx <= CONNS, r.text)
            -- afterwards, the two left serve everything
            local after = W.start(url(), 2, CONNS):wait()
            report("after the kill", after)
            assert.are.same({ 0, 0 }, { after.errors, after.non2xx }, after.text)
        end)
end)
