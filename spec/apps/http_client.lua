-- spec/apps/http_client.lua: the HTTP client's specs run their client code here. POST /run
-- with a Lua chunk as the body: it runs inside this request's handler (so it may wait), with
-- `http` (lunaserve.http), `lunaserve`, `arg` (the query's name=value pairs), `view` (a
-- response as plain values) and `at_load` (see below) in its environment, and what it
-- returns is the answer, as JSON. An error in it answers 500 with the message and a traceback.
local cjson = require("cjson")
local lunaserve = require("lunaserve")
local http = require("lunaserve.http")

-- A response (or nil, err) as a table cjson can encode.
local function view(res, err)
    if not res then
        return { err = err == nil and cjson.null or tostring(err) }
    end
    return {
        status = res.status,
        reason = res.reason,
        version = res.version,
        headers = res.headers,
        raw_headers = res.raw_headers,
        trailers = res.trailers,
        body = res.body == nil and cjson.null or res.body,
        url = res.url,
        redirects = res.redirects,
        reused = res.reused,
    }
end

-- With $HTTP_CLIENT_LOAD_URL set, one request while the app loads (the app's code may wait);
-- its outcome is `at_load` for the code the specs send.
local at_load
local load_url = os.getenv("HTTP_CLIENT_LOAD_URL")
if load_url then
    at_load = view(http.request{url = load_url, timeout = 3000})
end

local function query_args(q)
    local t = {}
    for k, v in (q or ""):gmatch("([^&=]+)=([^&]*)") do
        t[k] = v
    end
    return t
end

return function(req, res)
    local code = req:body()
    if not code then
        return
    end
    local env = setmetatable({ http = http, lunaserve = lunaserve, view = view,
        arg = query_args(req.query), cjson = cjson, at_load = at_load }, { __index = _G })
    local fn, err = load(code, "=spec", "t", env)
    local ok, result
    if fn then
        ok, result = xpcall(fn, debug.traceback)
    else
        ok, result = false, err
    end
    if not ok then
        res.statusCode = 500
        res:setHeader("Content-Type", "text/plain")
        res:finish(tostring(result))
        return
    end
    res:setHeader("Content-Type", "application/json")
    res:finish(cjson.encode(result == nil and cjson.null or result))
end
