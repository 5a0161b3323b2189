-- Redis through lua-resty-redis (issue 10): pub/sub. A handler subscribed with a read timeout
-- waits without blocking the server, receives a message another request publishes, and gets
-- nil, "timeout" when nothing comes, after which the same socket still reads.

local S = require("spec.support.server")
local R = require("spec.support.redis")

describe("lua-resty-redis pub/sub", function()
    local redis, srv

    lazy_setup(function()
        redis, srv = R.start_with_app("redis.lua")
    end)

    lazy_teardown(function()
        R.stop_with_app(redis, srv)
    end)

    local function subscribers(ch)
        local r = assert(redis:command("PUBSUB", "NUMSUB", ch))
        return r[2]
    end

    it("a subscribed handler receives what another request publishes", function()
        local c = srv:connect()
        assert(c:send(S.get("/subscribe?ch=news&timeout=5000")))
        assert.is_truthy(redis:wait_for(function() return subscribers("news") == 1 end, 3),
            "the handler did not subscribe")
        local status, body = srv:get_body("/publish?ch=news&msg=hello", 3)
        assert.are.equal(200, status, body)
        assert.are.equal("1", body)
        local res = assert(c:read_response({ timeout = 3 }))
        c:close()
        assert.are.equal(200, res.status, res.body)
        assert.are.equal("subscribe news 1\nmessage news hello", res.body)
        assert.is_truthy(redis:wait_for(function() return subscribers("news") == 0 end, 3),
            "still subscribed after the handler ended")
    end)

    it("a read with nothing published gives nil, \"timeout\" after the timeout", function()
        local t0 = S.now()
        local status, body = srv:get_body("/subscribe?ch=quiet&timeout=300", 5)
        local took = S.now() - t0
        assert.are.equal(200, status, body)
        assert.are.equal("subscribe quiet 1\nnil timeout", body)
        assert.is_true(took >= 0.3 and took < 1.5, "took " .. took .. " s")
    end)

    it("the socket still reads after that timeout", function()
        local status, body = srv:get_body("/subscribe?ch=later&timeout=300&late=1", 5)
        assert.are.equal(200, status, body)
        assert.are.equal("subscribe later 1\nnil timeout\npublished to 1\nmessage later late", body)
    end)
end)
