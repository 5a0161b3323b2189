-- A request with Upgrade is served as a normal request (no 101: no protocol to switch to), and
-- its connection goes on with the next request.

local S = require("spec.support.server")
local cjson = require("cjson")

local APP = S.app("echo_late_read.lua")

local H = "Host: 127.0.0.1\r\n"

describe("Upgrade", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP, args = S.TIGHT_LIMITS })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    after_each(function()
        -- whatever happened, the server still serves
        local res = assert(srv:fetch(S.get("/bytes/2")))
        assert.are.equal("xx", res.body)
    end)

    it("answers an Upgrade request as a normal request, and a request pipelined after it",
        function()
            local c = srv:connect()
            assert(c:send("GET /echo/up HTTP/1.1\r\n" .. H .. "Connection: Upgrade\r\n"
                .. "Upgrade: websocket\r\n\r\n" .. S.get("/bytes/3")))
            local list = assert(c:read_responses(2))
            assert.are.equal(200, list[1].status, list[1].raw) -- not 101
            local j = cjson.decode(list[1].body)
            assert.are.equal("/echo/up", j.path)
            assert.are.equal("websocket", j.headers.upgrade)
            assert.are.equal(200, list[2].status)
            assert.are.equal("xxx", list[2].body)
            assert.is_true(c:is_open(0.1))
            c:close()
        end)
end)
