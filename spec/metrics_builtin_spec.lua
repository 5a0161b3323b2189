-- The built-in metrics, each checked against what the spec did: requests by method and
-- status class, bytes in and out to the byte, connections by state, closes by reason,
-- handler errors and budget kills, reloads and failed reloads. The /metrics listener answers
-- only /metrics, and scrapes do not count themselves.

local S = require("spec.support.server")
local PM = require("spec.support.metrics")

local function v(fams, family, labels, sample)
    return PM.value(fams, family, sample or family .. (fams[family] and fams[family].type == "counter"
        and "_total" or ""), labels)
end

describe("the built-in metrics", function()
    local srv, mport, dir

    lazy_setup(function()
        mport = S.free_port()
        dir = S.mktempdir()
        S.write_file(dir .. "/app.lua", assert(S.read_file(S.app("metrics.lua"))))
        srv = S.start({ app = dir .. "/app.lua", args = { "--metrics-listen", "127.0.0.1:" .. mport,
            "--handler-budget", "0.2" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function scrape()
        local res, fams = PM.scrape(mport)
        assert.are.equal(200, res.status)
        return fams
    end

    it("counts requests by method and status class, and bytes to the byte", function()
        local raws = {
            "GET /hit/a HTTP/1.1\r\nHost: x\r\n\r\n",
            "POST /hit/b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
            "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
            "DELETE /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
            "PROPFIND /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
            "PATCH /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        }
        local c = srv:connect()
        local sent, got = 0, 0
        for _, raw in ipairs(raws) do
            assert(c:send(raw))
            sent = sent + #raw
            local res = assert(c:read_response({ timeout = 5 }))
            got = got + #res.raw
        end
        assert.are.equal("fin", (c:wait_close(5)))
        c:close()
        local f
        assert(S.wait_for(function() -- (closed once the lingering close has seen the client's end)
            f = scrape()
            return v(f, "lunaserve_connections_closed", { reason = "finish-close" }) == 1
        end, 5), "no finish-close counted")
        local R = "lunaserve_http_requests"
        assert.are.equal(1, v(f, R, { method = "GET", status = "2xx" }))
        assert.are.equal(1, v(f, R, { method = "POST", status = "2xx" }))
        assert.are.equal(1, v(f, R, { method = "GET", status = "4xx" }))
        assert.are.equal(1, v(f, R, { method = "DELETE", status = "4xx" }))
        assert.are.equal(1, v(f, R, { method = "other", status = "4xx" }))
        assert.are.equal(1, v(f, R, { method = "PATCH", status = "4xx" }))
        assert.are.equal(sent, v(f, "lunaserve_received_bytes"))
        assert.are.equal(got, v(f, "lunaserve_sent_bytes"))
    end)

    it("shows open connections by state", function()
        local idle = srv:connect()
        assert(idle:send(S.get("/hit/c")))
        assert(idle:read_response({ timeout = 5 }))
        local reading = srv:connect()
        assert(reading:send("GET /hit/d HTTP/1.1\r\nHo"))
        S.sleep(0.2)
        local f = scrape()
        assert.are.equal(1, v(f, "lunaserve_connections", { state = "idle" }))
        assert.are.equal(1, v(f, "lunaserve_connections", { state = "reading" }))
        assert.are.equal(0, v(f, "lunaserve_connections", { state = "active" }))
        idle:close()
        reading:close()
        assert(S.wait_for(function()
            local g = scrape()
            return v(g, "lunaserve_connections", { state = "idle" }) == 0
                and v(g, "lunaserve_connections", { state = "reading" }) == 0
        end, 5), "the closed connections are still counted")
    end)

    it("counts a malformed request's close, handler errors and budget kills", function()
        local c = srv:connect()
        assert(c:send("GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n"))
        assert.are.equal(400, assert(c:read_response({ timeout = 5 })).status)
        c:close()
        assert.are.equal(500, (srv:get_body("/fail", 5)))
        assert.are.equal(500, (srv:get_body("/spin", 5)))
        local f
        assert(S.wait_for(function()
            f = scrape()
            return v(f, "lunaserve_connections_closed", { reason = "protocol-error" }) == 1
        end, 5))
        assert.are.equal(2, v(f, "lunaserve_handler_errors"))
        assert.are.equal(1, v(f, "lunaserve_handler_budget_kills"))
    end)

    it("counts reloads and failed reloads", function()
        local good = assert(S.read_file(dir .. "/app.lua"))
        srv:signal("HUP")
        assert(srv:wait_log("reload", 5))
        S.write_file(dir .. "/app.lua", "return function(req, res) res:finish( end")
        srv:signal("HUP")
        assert(srv:wait_log("reload failed", 5))
        S.write_file(dir .. "/app.lua", good)
        local f
        assert(S.wait_for(function()
            f = scrape()
            return v(f, "lunaserve_reload_failures") == 1
        end, 5))
        assert.are.equal(1, v(f, "lunaserve_reloads"))
        -- the app's own metric kept its value across the reload (the same shared metric)
        assert.are.equal(1, v(f, "app_hits", { route = "a" }))
    end)

    it("answers only GET and HEAD /metrics on its listener, and scrapes do not count", function()
        local before = scrape()
        local res = PM.scrape(mport, "/other")
        assert.are.equal(404, res.status)
        local c = assert(S.connect(mport, 5))
        assert(c:send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
        local r = assert(c:read_response({ timeout = 5 }))
        assert.are.equal(405, r.status)
        assert.are.equal("GET, HEAD", r.headers["allow"])
        assert(c:send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
        r = assert(c:read_response({ timeout = 5, head = true }))
        assert.are.equal(200, r.status)
        assert.are.equal("", r.body)
        c:close()
        local after = scrape()
        local R = "lunaserve_http_requests"
        for _, st in ipairs({ "2xx", "4xx" }) do
            assert.are.equal(v(before, R, { method = "GET", status = st }),
                v(after, R, { method = "GET", status = st }))
        end
        assert.are.equal(v(before, "lunaserve_received_bytes"), v(after, "lunaserve_received_bytes"))
    end)
end)
