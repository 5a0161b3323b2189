-- Redis through lua-resty-redis (issue 10): Redis killed (SIGKILL) while a handler waits for its
-- reply. The handler gets an error ("closed") at once and says so; nothing hangs; once a new
-- Redis runs on the port, requests work again (the pooled connection to the dead one is not
-- handed out).

local S = require("spec.support.server")
local R = require("spec.support.redis")

describe("lua-resty-redis with Redis killed mid-request", function()
    local redis, srv

    lazy_setup(function()
        redis, srv = R.start_with_app("redis.lua")
    end)

    lazy_teardown(function()
        R.stop_with_app(redis, srv)
    end)

    it("gives the waiting handler nil, \"closed\", then recovers with a new Redis", function()
        -- a pooled connection to this Redis
        assert.are.equal("OK", select(2, srv:get_body("/set?k=x")))
        local c = srv:connect()
        assert(c:send(S.get("/blpop?k=jobs")))
        assert.is_truthy(redis:wait_for(function() return redis:info("blocked_clients") == "1" end, 3),
            "the handler is not waiting in BLPOP")
        local t0 = S.now()
        assert.is_true(redis:kill(), "redis-server did not die")
        local res = assert(c:read_response({ timeout = 5 }))
        local took = S.now() - t0
        c:close()
        assert.are.equal(200, res.status)
        assert.are.equal("nil closed", res.body)
        assert.is_true(took < 1, "the error took " .. took .. " s")

        -- nothing listens: connect is refused
        local status, body = srv:get_body("/get?k=x", 3)
        assert.are.equal(200, status)
        assert.are.equal("nil connection refused", body)

        -- a new Redis on the same port: requests work again
        local port = redis.port
        redis:stop()
        redis = R.start({ port = port })
        status, body = srv:get_body("/get?k=x", 3)
        assert.are.equal(200, status)
        assert.are.equal("null", body)
        c = srv:connect()
        assert(c:send(S.get("/blpop?k=jobs")))
        assert.is_truthy(redis:wait_for(function() return redis:info("blocked_clients") == "1" end, 3),
            "the handler is not waiting in BLPOP")
        assert.are.equal(1, redis:command("LPUSH", "jobs", "job-1"))
        res = assert(c:read_response({ timeout = 3 }))
        c:close()
        assert.are.equal("jobs job-1", res.body)
    end)
end)
