-- Redis through lua-resty-redis (issue 10): set_keepalive puts the connection in the worker's
-- pool and the next request gets it back: get_reused_times() counts up, and Redis sees one
-- connection for all of them.

local R = require("spec.support.redis")

describe("lua-resty-redis connection pool", function()
    local redis, srv

    lazy_setup(function()
        redis, srv = R.start_with_app("redis.lua")
    end)

    lazy_teardown(function()
        R.stop_with_app(redis, srv)
    end)

    it("reuses the connection on the next requests (get_reused_times 0, 1, 2)", function()
        local before = tonumber(redis:info("total_connections_received"))
        for i = 0, 2 do
            local status, body = srv:get_body("/reused")
            assert.are.equal(200, status, body)
            assert.are.equal(tostring(i), body, "request " .. (i + 1))
        end
        -- one connection from lunaserve, one for this INFO
        local after = tonumber(redis:info("total_connections_received"))
        assert.are.equal(2, after - before)
    end)
end)
