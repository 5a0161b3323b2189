-- Redis through lua-resty-redis (issue 10): a pipeline of 100 commands
-- (init_pipeline/commit_pipeline) sends them together and gets the 100 replies in order.

local R = require("spec.support.redis")

describe("lua-resty-redis pipeline", function()
    local redis, srv

    lazy_setup(function()
        redis, srv = R.start_with_app("redis.lua")
    end)

    lazy_teardown(function()
        R.stop_with_app(redis, srv)
    end)

    it("commits 100 commands and gets their 100 replies in order", function()
        local status, body = srv:get_body("/pipeline?n=100", 5)
        assert.are.equal(200, status, body)
        local want = {}
        for i = 1, 50 do
            want[#want + 1] = "OK"
            want[#want + 1] = "v" .. i
        end
        assert.are.equal(table.concat(want, " "), body)
        -- and they reached Redis
        local keys = {}
        for i = 1, 50 do
            keys[i] = "pl:" .. i
        end
        local values = assert(redis:command("MGET", table.unpack(keys)))
        assert.are.equal(50, #values)
        for i = 1, 50 do
            assert.are.equal("v" .. i, values[i])
        end
    end)

    it("keeps an error reply in its place among the others", function()
        local status, body = srv:get_body("/pipeline-error", 5)
        assert.are.equal(200, status, body)
        assert.are.equal("OK false ERR value is not an integer or out of range abc", body)
    end)
end)
