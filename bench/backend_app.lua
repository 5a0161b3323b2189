-- The "backend" benchmark app (bench/backend.sh): GET / does one Redis GET through Debian's
-- lua-resty-redis, unmodified, on a pooled connection, and answers with the value; as
-- bench/backend_nginx.conf does on nginx + Lua. Redis' port comes from $REDIS_PORT.
local ngx = require("lunaserve.ngx")
local redis = require("nginx.redis")

local PORT = assert(tonumber(os.getenv("REDIS_PORT")), "REDIS_PORT is not set")

local function fail(res, what, err)
    res.statusCode = 502
    res:finish(what .. ": " .. tostring(err) .. "\n")
end

local function handle(_, res)
    local red = redis:new()
    red:set_timeout(1000)
    local ok, err = red:connect("127.0.0.1", PORT)
    if not ok then
        return fail(res, "connect", err)
    end
    local value, gerr = red:get("bench:value")
    if not value or value == ngx.null then
        return fail(res, "get", gerr or "no value")
    end
    red:set_keepalive(10000, 100)
    res:setHeader("Content-Type", "text/plain")
    res:finish(value)
end

return { handle = handle, max_requests = 1000000 }
