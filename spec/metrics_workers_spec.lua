-- With --workers 2 a scrape shows the same totals whichever worker answers it: requests
-- counted by every worker, and the app's counters that both workers increment.

local S = require("spec.support.server")
local PM = require("spec.support.metrics")

describe("metrics across two workers", function()
    it("gives every scrape the same totals after load spread over both workers", function()
        local mport = S.free_port()
        local srv = S.start_any({ app = S.app("metrics.lua"),
            args = { "--workers", "2", "--metrics-listen", "127.0.0.1:" .. mport } })
        -- 40 connections of 10 requests: SO_REUSEPORT spreads them over both workers
        local n = 0
        for _ = 1, 40 do
            local c = srv:connect()
            for _ = 1, 10 do
                assert(c:send(S.get("/hit/x")))
                assert.are.equal(200, assert(c:read_response({ timeout = 5 })).status)
                n = n + 1
            end
            c:close()
        end
        for i = 1, 12 do
            local res, fams = PM.scrape(mport)
            assert.are.equal(200, res.status)
            assert.are.equal(n, PM.value(fams, "lunaserve_http_requests", "lunaserve_http_requests_total",
                { method = "GET", status = "2xx" }), "scrape " .. i)
            assert.are.equal(n, PM.value(fams, "app_hits", "app_hits_total", { route = "x" }), "scrape " .. i)
            assert.are.equal(n, PM.value(fams, "lunaserve_http_request_duration_seconds",
                "lunaserve_http_request_duration_seconds_count"))
            -- Lua memory per worker: both slots
            for w = 1, 2 do
                local mem = PM.value(fams, "lunaserve_lua_memory_bytes", "lunaserve_lua_memory_bytes",
                    { worker = tostring(w) })
                assert.is_true(mem and mem > 10000, "worker " .. w .. ": " .. tostring(mem))
            end
        end
        srv:stop_ok()
    end)

    it("counts a worker restart", function()
        local mport = S.free_port()
        local srv = S.start_any({ app = S.app("metrics.lua"),
            args = { "--workers", "2", "--metrics-listen", "127.0.0.1:" .. mport } })
        local kids = assert(srv:wait_children(2, 5))
        S.kill_pid(kids[1], "KILL")
        assert(srv:wait_children(2, 10, { kids[1] }), "the worker was not restarted")
        local value
        assert(S.wait_for(function()
            local res, fams = PM.scrape(mport)
            value = res.status == 200 and PM.value(fams, "lunaserve_worker_restarts",
                "lunaserve_worker_restarts_total")
            return value == 1
        end, 10), "restarts: " .. tostring(value))
        srv:stop_ok()
    end)
end)
