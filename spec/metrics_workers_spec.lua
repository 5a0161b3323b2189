-- With --workers 2 a scrape shows the same totals whichever worker answers it: requests
-- counted by every worker, and the app's counters that both workers increment.

local S = require("spec.support.server")
local PM = require("spec.support.metrics")
local W = require("spec.support.wrk")

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

    it("keeps totals that only grow while wrk loads both workers, and end at what wrk got",
        function()
            local mport = S.free_port()
            local srv = S.start_any({ app = S.app("metrics.lua"), args = { "--workers", "2",
                "--metrics-listen", "127.0.0.1:" .. mport, "--max-requests", "1000000" } })
            local conns = 8
            local run = W.start("http://127.0.0.1:" .. srv.port .. "/hit/load", 3, conns)
            -- during the load, the sample is read from the text directly (Prometheus's parser,
            -- a Python process per scrape, reads the final scrapes below)
            local last, scrapes = 0, 0
            local deadline = S.now() + 2.5
            while S.now() < deadline do
                local c = assert(S.connect(mport, 5))
                assert(c:send(S.get("/metrics")))
                local res = assert(c:read_response({ timeout = 5 }))
                c:close()
                assert.are.equal(200, res.status)
                local v = tonumber(res.body:match('\napp_hits_total{route="load"} (%d+)\n') or "0")
                assert.is_true(v >= last, "went down from " .. last .. " to " .. v)
                last, scrapes = v, scrapes + 1
                S.sleep(0.05)
            end
            local r = run:wait()
            assert.are.same({ 0, 0 }, { r.errors, r.non2xx }, r.text)
            assert.is_true(scrapes >= 3 and last > 0, scrapes .. " scrapes, last " .. last)
            -- wrk counts the responses it read; the server may have answered a few more that
            -- were in flight when wrk stopped (at most one per connection)
            local hits, served
            assert(S.wait_for(function()
                local _, fams = PM.scrape(mport)
                hits = PM.value(fams, "app_hits", "app_hits_total", { route = "load" })
                served = PM.value(fams, "lunaserve_http_requests", "lunaserve_http_requests_total",
                    { method = "GET", status = "2xx" })
                return hits == served
            end, 5), "app counter " .. tostring(hits) .. " and requests " .. tostring(served))
            assert.is_true(hits >= r.requests and hits <= r.requests + conns,
                string.format("server counted %d, wrk read %d", hits, r.requests))
            for _ = 1, 6 do -- every worker answers a scrape with the same totals
                local _, fams = PM.scrape(mport)
                assert.are.equal(hits, PM.value(fams, "app_hits", "app_hits_total", { route = "load" }))
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
