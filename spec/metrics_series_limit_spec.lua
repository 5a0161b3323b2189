-- The app's series are bounded (--metrics-max-series, in all): past the bound an update
-- returns nil, err, the refusal is counted in lunaserve_metric_errors_total and logged once
-- per metric, and the series already made go on counting.

local S = require("spec.support.server")
local PM = require("spec.support.metrics")

describe("--metrics-max-series", function()
    it("refuses series past the bound, counts the refusals and logs once", function()
        local mport = S.free_port()
        local srv = S.start({ app = S.app("metrics.lua"),
            args = { "--metrics-max-series", "5", "--metrics-listen", "127.0.0.1:" .. mport } })
        local status, body = srv:get_body("/series/10", 5)
        assert.are.equal(200, status)
        assert.are.equal("ok=5 err=5 last=too many series (--metrics-max-series)", body)
        status, body = srv:get_body("/series/10", 5) -- the first 5 again: counted
        assert.are.equal("ok=5 err=5 last=too many series (--metrics-max-series)", body)
        local _, fams = PM.scrape(mport)
        assert.are.equal(10, PM.value(fams, "lunaserve_metric_errors", "lunaserve_metric_errors_total"))
        for i = 1, 5 do
            assert.are.equal(2, PM.value(fams, "app_series", "app_series_total", { n = tostring(i) }))
        end
        assert.is_nil(PM.value(fams, "app_series", "app_series_total", { n = "6" }))
        local log = srv:log()
        srv:stop_ok()
        assert.are.equal(1, S.count(log, "metric app_series_total: too many series"), log)
    end)

    it("is for the command line only, and says so in the app's table", function()
        local dir = S.mktempdir()
        S.write_file(dir .. "/app.lua", "return { handle = function(req, res) res:finish() end, "
            .. "metrics_max_series = 10 }")
        local _, err, code = S.run({ "--port", "0", dir .. "/app.lua" }, { timeout = 10 })
        assert.are.equal(1, code)
        assert.is_truthy(err:find("metrics_max_series", 1, true), err)
        assert.is_truthy(err:find("command line", 1, true), err)
    end)
end)
