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

    it("counts a receive that times out as an error of the connection it ran on", function()
        local listener = assert(socket.bind("127.0.0.1", 0)) -- accepts (backlog), never sends
        local _, port = listener:getsockname()
        local c0, e0 = counts("tcp")
        assert.are.equal("timeout", select(2, srv:get_body("/recv/" .. port, 5)))
        listener:close()
        local c1, e1 = counts("tcp")
        assert.are.same({ 1, 1 }, { c1 - c0, e1 - e0 })
    end)

    local function pool_gauge(fams, client, state)
        return PM.value(fams, "lunaserve_upstream_pool_connections",
            "lunaserve_upstream_pool_connections", { client = client, state = state })
    end

    it("shows idle pooled cosockets and the PostgreSQL pool's connections", function()
        local listener = assert(socket.bind("127.0.0.1", 0))
        local _, port = listener:getsockname()
        local _, fams = PM.scrape(mport)
        assert.are.equal(0, pool_gauge(fams, "tcp", "idle"))
        assert.are.equal("ok", select(2, srv:get_body("/keep/" .. port, 5)))
        _, fams = PM.scrape(mport)
        assert.are.equal(1, pool_gauge(fams, "tcp", "idle"))
        listener:close() -- the pooled connection sees the close and leaves the pool
        assert(S.wait_for(function()
            local _, f = PM.scrape(mport)
            return pool_gauge(f, "tcp", "idle") == 0
        end, 5), "the closed connection is still counted")
        assert.are.equal("ok", select(2, srv:get_body("/pool/6", 10)))
        _, fams = PM.scrape(mport)
        assert.are.equal(3, pool_gauge(fams, "pg", "idle"))
        assert.are.equal(0, pool_gauge(fams, "pg", "busy"))
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
