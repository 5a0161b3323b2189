-- lunaserve.ngx (issue 10): OpenResty's `ngx` for its Lua libraries. Debian's lua-resty-redis
-- (/usr/share/lua/5.1/nginx/redis.lua) loads unmodified once the module is required, without
-- widening package.path or adding 5.1 globals; ngx.null, ngx.sleep and ngx.log behave as in
-- OpenResty (spec/apps/redis_compat.lua).

local S = require("spec.support.server")
local R = require("spec.support.redis")

describe("lunaserve.ngx", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("redis_compat.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("makes require \"nginx.redis\" find Debian's file, and only that namespace", function()
        local st = srv:state()
        assert.are.equal("false", st.before)
        assert.are.equal("0.27", st.after)
        assert.are.equal("not on package.path", st.file)
        assert.are.equal("true", st.path_unchanged)
        assert.are.equal("nil", st.global_unpack)
        assert.are.equal("false", st.other_5_1)
    end)

    it("sets the global ngx to the module's table, with the cosocket as ngx.socket.tcp", function()
        local st = srv:state()
        assert.are.equal("true", st.same_table)
        assert.are.equal("true", st.tcp)
        assert.are.equal("true", st.time)
    end)

    it("has an ngx.null that is cjson.null (JSON null), truthy, and cannot be changed", function()
        local st = srv:state()
        assert.are.equal("true", st.null_is_cjson_null)
        assert.are.equal('[null,{"a":null}]', st.null_json)
        assert.are.equal("userdata", st.null_type)
        assert.are.equal("true", st.null_truthy)
        assert.are.equal("true", st.null_frozen)
    end)

    it("ngx.sleep takes seconds and does not block other requests", function()
        local c = srv:connect()
        local t0 = S.now()
        assert(c:send(S.get("/sleep?s=0.5")))
        local status, body = srv:get_body("/ping", 3)
        assert.are.equal(200, status)
        assert.are.equal("pong", body)
        assert.is_true(S.now() - t0 < 0.4, "/ping waited for the sleep")
        local res = assert(c:read_response({ timeout = 3 }))
        c:close()
        assert.are.equal("slept", res.body)
        local took = S.now() - t0
        assert.is_true(took >= 0.5 and took < 1.5, "slept " .. took .. " s")
    end)

    it("ngx.log writes OpenResty's levels to the server's log, without debug", function()
        local status, body = srv:get_body("/log", 3)
        assert.are.equal(200, status)
        assert.are.equal("logged", body)
        local ok, log = srv:wait_log("ngx-log-warn", 3)
        assert.is_true(ok, log)
        assert.is_truthy(log:find("%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ %[error%] ngx%-log%-error 42 nil true\n"), log)
        assert.is_truthy(log:find(" [warn] ngx-log-warn\n", 1, true), log)
        assert.is_nil(log:find("ngx-log-debug", 1, true), log)
    end)
end)

describe("lunaserve.ngx with a real Redis", function()
    local redis, srv

    lazy_setup(function()
        redis, srv = R.start_with_app("redis.lua")
    end)

    lazy_teardown(function()
        R.stop_with_app(redis, srv)
    end)

    it("runs the library's code that reads 5.1's unpack (hmset with a table)", function()
        local status, body = srv:get_body("/hmset?k=h", 3)
        assert.are.equal(200, status, body)
        assert.are.equal("OK", body)
        assert.are.equal("1", redis:command("HGET", "h", "a"))
        assert.are.equal("2", redis:command("HGET", "h", "b"))
        assert.are.equal(2, redis:command("HLEN", "h"))
    end)
end)
