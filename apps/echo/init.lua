-- apps/echo: the contract of docs/ARCHITECTURE.md ("The echo app"), used by the tests and the benchmarks.
local cjson = require("cjson")
local lunaserve = require("lunaserve")

local PIECE = 64 * 1024
local piece = string.rep("x", PIECE)

local routes = {}

-- any method on /echo or /echo/...: the request as JSON
local function echo(req, res)
    local body, err = req:body()
    if not body then
        return -- the request is gone (err says why)
    end
    local doc = cjson.encode({
        method = req.method,
        path = req.path,
        query = req.query,
        headers = req.headers,
        body = body,
        bodyLength = #body,
    })
    -- lua-cjson escapes "/" as "\/"; both are valid JSON, the plain one reads better.
    doc = doc:gsub("\\/", "/")
    res:setHeader("Content-Type", "application/json")
    res:finish(doc)
end

-- GET /bytes/N: N bytes of "x" with Content-Length, in pieces that respect backpressure
function routes.bytes(req, res, arg)
    local n = tonumber(arg)
    if not n or n < 0 or n % 1 ~= 0 then
        return routes.notfound(req, res)
    end
    res:setHeader("Content-Type", "application/octet-stream")
    res:setHeader("Content-Length", n)
    local left = n
    while left > 0 do
        local k = left < PIECE and left or PIECE
        local below = res:write(k == PIECE and piece or piece:sub(1, k))
        left = left - k
        if not below and not res:drain() then
            return -- the client went away
        end
    end
    res:finish()
end

-- GET /stream/N: chunked, chunk i is "chunk i\n"
function routes.stream(req, res, arg)
    local n = tonumber(arg)
    if not n or n < 0 or n % 1 ~= 0 then
        return routes.notfound(req, res)
    end
    res:setHeader("Content-Type", "text/plain")
    res:write("") -- commits the head now: a stream (chunked), even when n is 0
    for i = 1, n do
        if not res:write("chunk " .. i .. "\n") and not res:drain() then
            return
        end
    end
    res:finish()
end

-- GET /status/N: that status; "status N" where a body is allowed
function routes.status(req, res, arg)
    local n = tonumber(arg)
    if not n or n < 100 or n > 999 or n % 1 ~= 0 then
        return routes.notfound(req, res)
    end
    res.statusCode = n
    if n >= 200 and n ~= 204 and n ~= 205 and n ~= 304 then
        res:setHeader("Content-Type", "text/plain")
        res:finish("status " .. n)
    else
        res:finish()
    end
end

-- GET /slow/MS: waits without blocking the loop
function routes.slow(req, res, arg)
    local ms = tonumber(arg)
    if not ms or ms < 0 then
        return routes.notfound(req, res)
    end
    lunaserve.sleep(ms)
    res:setHeader("Content-Type", "text/plain")
    res:finish("slow")
end

-- POST /reject-upload: 413 at once, the body unread
routes["reject-upload"] = function(req, res)
    res.statusCode = 413
    res:setHeader("Content-Type", "text/plain")
    res:finish("upload rejected\n")
end

-- GET /close: the connection ends after this response
function routes.close(req, res)
    res.shouldKeepAlive = false
    res:setHeader("Content-Type", "text/plain")
    res:finish("bye")
end

-- GET /destroy: no response at all
function routes.destroy(req, res)
    res:destroy()
end

-- GET /error: a Lua error (500)
function routes.error()
    error("this route fails on purpose")
end

function routes.notfound(req, res)
    res.statusCode = 404
    res:setHeader("Content-Type", "text/plain")
    res:finish("not found\n")
end

return function(req, res)
    local path = req.path
    if path == "/echo" or path:sub(1, 6) == "/echo/" then
        return echo(req, res)
    end
    local name, arg = path:match("^/([%w%-]+)/?(.*)$")
    local route = name and routes[name]
    if not route or name == "notfound" then
        return routes.notfound(req, res)
    end
    return route(req, res, arg)
end
