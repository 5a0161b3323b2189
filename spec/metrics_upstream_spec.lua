-- lunaserve_upstream_connects_total and lunaserve_upstream_errors_total count the outbound
-- connections of the cosocket (client="tcp") and of lunaserve.pg (client="pg"), against a
-- real PostgreSQL and a real listening and a closed port.

local S = require("spec.support.server")
local P = require("spec.support.postgres")
local PM = require("spec.support.metrics")
local socket = require("socket")

describe("the upstream metrics", function()
    local pg, srv, mport

    lazy_setup(function()
        mport = S.free_port()
        pg, srv = P.start_with_app("metrics_upstream.lua",
            { args = { "--metrics-listen", "127.0.0.1:" .. mport } })
    end)

    lazy_teardown(function()
        P.stop_with_app(pg, srv)
    end)

    local function counts(client)
        local res, fams = PM.scrape(mport)
        assert.are.equal(200, res.status)
        return PM.value(fams, "lunaserve_upstream_connects", "lunaserve_upstream_connects_total",
            { client = client }), PM.value(fams, "lunaserve_upstream_errors",
            "lunaserve_upstream_errors_total", { client = client })
    end

    it("counts cosocket connects that work and that are refused", function()
        local listener = assert(socket.bind("127.0.0.1", 0))
        local _, open_port = listener:getsockname()
        local closed_port = S.free_port()
        local c0, e0 = counts("tcp")
        assert.are.equal("ok", select(2, srv:get_body("/tcp/" .. open_port, 5)))
        assert.are.equal("ok", select(2, srv:get_body("/tcp/" .. open_port, 5)))
        assert.are.equal("connection refused", select(2, srv:get_body("/tcp/" .. closed_port, 5)))
        listener:close()
        local c1, e1 = counts("tcp")
        assert.are.same({ 2, 1 }, { c1 - c0, e1 - e0 })
    end)

    it("counts PostgreSQL connects and failed queries", function()
        local c0, e0 = counts("pg")
        assert.are.equal("ok", select(2, srv:get_body("/pg/SELECT(1)", 5)))
        local _, body = srv:get_body("/pg/SELECT(nonsense_column)", 5)
        assert.is_truthy(body:find("nonsense_column", 1, true), body)
        local c1, e1 = counts("pg")
        assert.are.same({ 2, 1 }, { c1 - c0, e1 - e0 })
    end)
end)
