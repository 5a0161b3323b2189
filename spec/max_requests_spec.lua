-- The request limit per connection (--max-requests; docs/ARCHITECTURE.md, the connection
-- contract, point 3): the last allowed response says Connection: close, the connection ends
-- with a FIN, and nothing after it is answered.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")
local ECHO = S.root .. "/apps/echo"

describe("--max-requests", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE, args = { "--max-requests", "3" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("says Connection: close on the 3rd response of a connection and closes it", function()
        local c = srv:connect()
        for i = 1, 3 do
            assert(c:send(S.get("/ping")))
            local res = assert(c:read_response())
            assert.are.equal("pong", res.body)
            if i < 3 then
                assert.is_false(res:has_token("Connection", "close"), "response " .. i)
            else
                assert.is_true(res:has_token("Connection", "close"), "response 3")
            end
        end
        local extra, kind = c:read_until_close(3)
        assert.are.equal("", extra)
        assert.are.equal("fin", kind)
        c:close()
    end)

    it("answers only 3 of 5 pipelined requests, the 3rd with shouldKeepAlive false", function()
        local c = srv:connect()
        local raw = {}
        for _ = 1, 5 do
            raw[#raw + 1] = S.get("/ska")
        end
        assert(c:send(table.concat(raw)))
        local list = assert(c:read_responses(3))
        assert.are.same({ "true", "true", "false" }, { list[1].body, list[2].body, list[3].body })
        assert.is_true(list[3]:has_token("Connection", "close"))
        local extra, kind = c:read_until_close(3)
        assert.are.equal("", extra)
        assert.are_not.equal("timeout", kind)
        c:close()
    end)

    it("counts per connection, not per server", function()
        for _ = 1, 3 do
            local c = srv:connect()
            assert(c:send(S.get("/ping")))
            local res = assert(c:read_response())
            assert.are.equal("pong", res.body)
            assert.is_false(res:has_token("Connection", "close"))
            c:close()
        end
    end)

    it("says Connection: close on the last allowed response, answers nothing after it, FIN",
        function()
            local srv = S.start({ app = ECHO, args = { "--max-requests", "2" } })
            finally(function() srv:stop_ok() end)
            local c = srv:connect()
            assert(c:send(S.get("/bytes/1") .. S.get("/bytes/2") .. S.get("/bytes/3")))
            local r1 = assert(c:read_response())
            assert.are.equal("x", r1.body)
            assert.is_false(r1:has_token("Connection", "close"), r1.raw_head)
            local r2 = assert(c:read_response())
            assert.are.equal("xx", r2.body)
            assert.is_true(r2:has_token("Connection", "close"), r2.raw_head)
            assert.is_nil(r2:header("Keep-Alive"), r2.raw_head)
            local extra, kind = c:read_until_close(3)
            assert.are.equal("", extra, "the 3rd pipelined request was answered")
            assert.are.equal("fin", kind)
            c:close()
        end)
end)
