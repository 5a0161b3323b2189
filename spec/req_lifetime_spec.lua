-- A req outlives its request: listeners that run after the handler returned, and code that
-- keeps req, read all its fields, the same req.headers table, and req.remoteAddress after the
-- client left.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

describe("a req kept after its request ended", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE, args = { "--keepalive-timeout", "1" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("lets res 'finish' and 'close' listeners read every req field after the handler returned",
        function()
            local res = assert(srv:fetch(S.get("/listen?id=4", { { "X-Probe", "p1" },
                { "X-Probe", "p2" } })))
            assert.are.equal("listening", res.body)
            local st = srv:state_when("close_fired_4")
            assert.is_truthy(st.finish_fired_4, "'finish' did not fire")
            for _, ev in ipairs({ "finish", "close" }) do
                assert.are.equal("GET", st[ev .. "_method_4"], ev .. " listener: req.method")
                assert.are.equal("/listen?id=4", st[ev .. "_url_4"], ev .. " listener: req.url")
                assert.are.equal("/listen", st[ev .. "_path_4"], ev .. " listener: req.path")
                assert.are.equal("127.0.0.1", st[ev .. "_remote_4"],
                    ev .. " listener: req.remoteAddress")
                assert.are.equal("id=4", st[ev .. "_query_4"], ev .. " listener: req.query")
                assert.are.equal("1.1", st[ev .. "_version_4"], ev .. " listener: req.httpVersion")
                assert.are.equal("p1, p2", st[ev .. "_probe_4"], ev .. " listener: req.headers")
                assert.is_truthy(st[ev .. "_raw_4"]:find("X-Probe|p1|X-Probe|p2", 1, true),
                    ev .. " listener: req.rawHeaders " .. tostring(st[ev .. "_raw_4"]))
            end
        end)

    it("keeps req.headers (the same table) for a req kept after its request ended", function()
        local res = assert(srv:fetch(S.get("/save-req", { { "X-Probe", "kept" } })))
        assert.are.equal("saved", res.body)
        local status, body = srv:get_body("/check-req", 3)
        assert.are.equal(200, status)
        assert.are.equal("true true kept", body)
    end)

    it("keeps req.remoteAddress in a req 'close' listener when the client left mid-body", function()
        local c = srv:connect()
        assert(c:send("POST /upload?id=5 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
            .. string.rep("b", 10)))
        S.sleep(0.2) -- the handler waits in req:body()
        c:close()
        local st = srv:state_when("close_fired_5")
        assert.are.equal("127.0.0.1", st.close_remote_5)
        assert.are.equal("true", st.close_aborted_5)
        assert.are.equal("nil,aborted", st.body_5)
    end)
end)
