-- lunaserve.metrics: the app's counters, gauges and histograms, read back through
-- --metrics-listen and the app's own metrics.handler, parsed by Prometheus's parser.

local S = require("spec.support.server")
local PM = require("spec.support.metrics")

describe("the app's metrics", function()
    local srv, mport

    lazy_setup(function()
        mport = S.free_port()
        srv = S.start({ app = S.app("metrics.lua"), args = { "--metrics-listen", "127.0.0.1:" .. mport } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function get(path)
        local status, body = srv:get_body(path, 5)
        assert.are.equal(200, status, body)
        return body
    end

    it("counts by label values", function()
        for _ = 1, 3 do get("/hit/a") end
        get("/hit/b")
        get("/hit/with%22quote")
        local _, fams = PM.scrape(mport)
        assert.are.equal("counter", fams.app_hits.type)
        assert.are.equal("Hits by route.", fams.app_hits.help)
        assert.are.equal(3, PM.value(fams, "app_hits", "app_hits_total", { route = "a" }))
        assert.are.equal(1, PM.value(fams, "app_hits", "app_hits_total", { route = "b" }))
        -- a label value is escaped in the text, and reads back as it was
        assert.are.equal(1, PM.value(fams, "app_hits", "app_hits_total", { route = "with%22quote" }))
        assert.are.equal("3.0", get("/value/a"))
    end)

    it("sets a gauge", function()
        get("/queue/7")
        get("/queue/4.5")
        local _, fams = PM.scrape(mport)
        assert.are.equal("gauge", fams.app_queue_length.type)
        assert.are.equal(4.5, PM.value(fams, "app_queue_length", "app_queue_length"))
    end)

    it("observes a histogram into cumulative buckets with a sum and a count", function()
        get("/observe/0.05")
        get("/observe/0.5")
        get("/observe/0.5")
        get("/observe/5")
        local _, fams = PM.scrape(mport)
        local f = "app_job_seconds"
        assert.are.equal("histogram", fams[f].type)
        assert.are.equal(1, PM.value(fams, f, f .. "_bucket", { kind = "k", le = "0.1" }))
        assert.are.equal(3, PM.value(fams, f, f .. "_bucket", { kind = "k", le = "1" }))
        assert.are.equal(4, PM.value(fams, f, f .. "_bucket", { kind = "k", le = "+Inf" }))
        assert.are.equal(4, PM.value(fams, f, f .. "_count", { kind = "k" }))
        assert.is_true(math.abs(6.05 - PM.value(fams, f, f .. "_sum", { kind = "k" })) < 1e-9)
    end)

    it("serves the same text from the app's own route (metrics.handler)", function()
        local c = srv:connect()
        assert(c:send(S.get("/metrics")))
        local res = assert(c:read_response({ timeout = 5 }))
        c:close()
        assert.are.equal(200, res.status)
        assert.are.equal("text/plain; version=0.0.4; charset=utf-8", res.headers["content-type"])
        local fams = PM.parse(res.body)
        assert.are.equal(3, PM.value(fams, "app_hits", "app_hits_total", { route = "a" }))
    end)

    it("refuses names and labels Prometheus would not take, and a type change", function()
        assert.is_truthy(get("/define/1bad"):find("a metric name is", 1, true))
        assert.is_truthy(get("/define/has-dash"):find("a metric name is", 1, true))
        assert.is_truthy(get("/define/lunaserve_mine"):find("the server's own", 1, true))
        assert.are.equal("ok", get("/define/app_fine_total"))
        assert.are.equal("ok", get("/define/app_fine_total")) -- the same metric again
        assert.is_truthy(get("/redefine"):find("exists with another type", 1, true))
    end)
end)
