-- Many connections at once, and one slow client that does not hold up the others.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

describe("concurrent connections", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("serves 50 connections open at once", function()
        local conns = {}
        for i = 1, 50 do
            conns[i] = srv:connect()
        end
        for i = 1, 50 do
            assert(conns[i]:send(S.get("/req-info?c=" .. i)))
        end
        for i = 50, 1, -1 do
            local res = assert(conns[i]:read_response())
            assert.are.equal("c=" .. i, S.parse_kv(res.body).query)
            conns[i]:close()
        end
    end)

    it("serves other connections while one sends its head byte by byte", function()
        local slow = srv:connect()
        local raw = S.get("/req-info?slow=1")
        assert(slow:send(raw:sub(1, 10)))
        local res = assert(srv:fetch(S.get("/ping")))
        assert.are.equal("pong", res.body)
        assert(slow:send(raw:sub(11)))
        assert.are.equal("slow=1", S.parse_kv(assert(slow:read_response()).body).query)
        slow:close()
    end)
end)
