-- Redis through lua-resty-redis (issue 10): a read timeout. DEBUG SLEEP keeps Redis from
-- answering; the handler gets nil, "timeout" after its timeout, not after the sleep, and the
-- server serves other requests meanwhile.

local S = require("spec.support.server")
local R = require("spec.support.redis")

describe("lua-resty-redis timeout", function()
    local redis, srv

    lazy_setup(function()
        redis, srv = R.start_with_app("redis.lua")
    end)

    lazy_teardown(function()
        R.stop_with_app(redis, srv)
    end)

    it("DEBUG SLEEP 2 with a 300 ms timeout gives nil, \"timeout\" after 300 ms", function()
        local t0 = S.now()
        local status, body = srv:get_body("/debug-sleep?s=2&timeout=300", 5)
        local took = S.now() - t0
        assert.are.equal(200, status, body)
        assert.are.equal("nil timeout", body)
        assert.is_true(took >= 0.3 and took < 1.5, "took " .. took .. " s")
        -- Redis answers again once its sleep is over
        assert.is_truthy(S.wait_for(function()
            local st, b = srv:get_body("/get?k=after-sleep", 1)
            return st == 200 and b == "null"
        end, 5), "no answer from Redis after the sleep")
    end)

    it("the server answers other requests while the handler waits", function()
        local c = srv:connect()
        local t0 = S.now()
        assert(c:send(S.get("/debug-sleep?s=1&timeout=800")))
        S.sleep(0.1)
        local t1 = S.now()
        local status, body = srv:get_body("/ping", 3)
        assert.are.equal(200, status)
        assert.are.equal("pong", body)
        assert.is_true(S.now() - t1 < 0.5, "/ping took " .. (S.now() - t1) .. " s")
        local res = assert(c:read_response({ timeout = 3 }))
        c:close()
        assert.are.equal("nil timeout", res.body)
        assert.is_true(S.now() - t0 >= 0.8, "the timeout came early")
        S.sleep(1) -- (let Redis finish its sleep before the teardown)
    end)
end)
