-- Test app for the Redis specs: Debian's lua-resty-redis (`require "nginx.redis"`, unmodified)
-- on the cosocket through lunaserve.ngx, against the Redis on 127.0.0.1:$REDIS_PORT.
--
-- Every route answers 200 with what the library returned, rendered by `show`: a string as
-- itself, an integer as digits, ngx.null as "null", a table as its items joined by " ",
-- and a failure as "nil ERR" (or "false ERR" for an error reply), so a spec can assert the
-- exact values and errors. The header X-Redis-Type says the Lua type of the result (and
-- "null" for ngx.null).
local ngx = require("lunaserve.ngx")
local redis = require("nginx.redis")
local testkit = require("testkit")

local PORT = assert(tonumber(os.getenv("REDIS_PORT")), "REDIS_PORT is not set")
local POOL_IDLE_MS, POOL_SIZE = 10000, 10

local function show(v, err)
    if v == nil or v == false then
        return tostring(v) .. " " .. tostring(err)
    elseif v == ngx.null then
        return "null"
    elseif type(v) == "table" then
        local parts = {}
        for i, item in ipairs(v) do
            parts[i] = type(item) == "table" and show(item[1], item[2]) or show(item)
        end
        return table.concat(parts, " ")
    end
    return tostring(v)
end

local function kind(v)
    if v == ngx.null then
        return "null"
    end
    return type(v)
end

local function connect(timeout_ms)
    local red = redis:new()
    red:set_timeout(timeout_ms or 2000)
    local ok, err = red:connect("127.0.0.1", PORT)
    if not ok then
        return nil, err
    end
    return red
end

local function answer(res, v, err)
    res:setHeader("X-Redis-Type", kind(v))
    res:finish(show(v, err))
end

-- Answers with what command(red) returns on a new connection (timeout_ms as connect's), or
-- with the connect's error; the connection goes back to the pool when the command gave a
-- result (neither nil nor false).
local function run(res, command, timeout_ms)
    local red, err = connect(timeout_ms)
    if not red then
        return answer(res, nil, err)
    end
    local v, cerr = command(red)
    if v then
        red:set_keepalive(POOL_IDLE_MS, POOL_SIZE)
    end
    answer(res, v, cerr)
end

local routes = {}

routes["/ping"] = function(_, res)
    res:finish("pong")
end

-- GET /get?k=KEY: the value as it is (any bytes), "null" for a missing key.
routes["/get"] = function(req, res)
    run(res, function(red)
        return red:get(testkit.param(req, "k"))
    end)
end

-- POST /set?k=KEY with the value as the body.
routes["/set"] = function(req, res)
    local value = req:body() or ""
    run(res, function(red)
        return red:set(testkit.param(req, "k"), value)
    end)
end

-- GET /hmset?k=KEY: HMSET KEY with a table {a = "1", b = "2"} (the library passes it on with
-- Lua 5.1's global unpack).
routes["/hmset"] = function(req, res)
    run(res, function(red)
        return red:hmset(testkit.param(req, "k"), { a = "1", b = "2" })
    end)
end

-- GET /pipeline?n=N: N commands in one pipeline, SET pl:i vi then GET pl:i for i = 1..N/2.
routes["/pipeline"] = function(req, res)
    local n = tonumber(testkit.param(req, "n"))
    run(res, function(red)
        red:init_pipeline(n)
        for i = 1, n // 2 do
            red:set("pl:" .. i, "v" .. i)
            red:get("pl:" .. i)
        end
        return red:commit_pipeline()
    end)
end

-- GET /pipeline-error: an error reply in the middle of a pipeline stays in its place.
routes["/pipeline-error"] = function(_, res)
    run(res, function(red)
        red:init_pipeline()
        red:set("pe:text", "abc")
        red:incr("pe:text")
        red:get("pe:text")
        return red:commit_pipeline()
    end)
end

-- GET /reused: how many times the connection this request got had been reused, then back to
-- the pool.
routes["/reused"] = function(_, res)
    local red, err = connect()
    if not red then
        return answer(res, nil, err)
    end
    local times = red:get_reused_times()
    local pong, perr = red:ping()
    if not pong then
        return answer(res, nil, perr)
    end
    local ok, kerr = red:set_keepalive(POOL_IDLE_MS, POOL_SIZE)
    answer(res, ok and times, kerr)
end

-- GET /subscribe?ch=CHANNEL&timeout=MS: subscribes, then waits (at most MS) for one message.
-- With &late=1, after a read timeout it publishes "late" itself from a second connection and
-- reads again on the same socket (a read timeout leaves it usable). Lines: the subscription's
-- reply, the read's result, [the second read's result].
routes["/subscribe"] = function(req, res)
    local ch = testkit.param(req, "ch")
    local red, err = connect(tonumber(testkit.param(req, "timeout")))
    if not red then
        return answer(res, nil, err)
    end
    local lines = {}
    local sub, serr = red:subscribe(ch)
    lines[1] = show(sub, serr)
    local msg, merr = red:read_reply()
    lines[2] = show(msg, merr)
    if merr == "timeout" and testkit.param(req, "late") then
        local other = assert(connect())
        lines[3] = "published to " .. show(other:publish(ch, "late"))
        other:set_keepalive(POOL_IDLE_MS, POOL_SIZE)
        lines[4] = show(red:read_reply())
    end
    red:unsubscribe(ch)
    red:close()
    res:finish(table.concat(lines, "\n"))
end

-- GET /publish?ch=CHANNEL&msg=TEXT: the number of subscribers that got it.
routes["/publish"] = function(req, res)
    run(res, function(red)
        return red:publish(testkit.param(req, "ch"), testkit.param(req, "msg"))
    end)
end

-- GET /debug-sleep?s=S&timeout=MS: DEBUG SLEEP S with a read timeout of MS.
routes["/debug-sleep"] = function(req, res)
    local red, err = connect(tonumber(testkit.param(req, "timeout")))
    if not red then
        return answer(res, nil, err)
    end
    answer(res, red:debug("sleep", testkit.param(req, "s")))
end

-- GET /blpop?k=KEY: waits (up to 20 s) for an item pushed on the list KEY.
routes["/blpop"] = function(req, res)
    run(res, function(red)
        return red:blpop(testkit.param(req, "k"), 0)
    end, 20000)
end

return testkit.router(routes)
