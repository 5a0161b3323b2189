-- spec/apps/http_client_upstream.lua: apps/echo, plus redirects, for the HTTP client's specs.
--   /redirect/STATUS?to=TARGET   that status with Location: TARGET (%XX decoded)
--   /hops/N                      N redirects (302, relative Locations) before /echo/done
local root = debug.getinfo(1, "S").source:match("^@(.*)/spec/apps/[^/]*$")
local echo = dofile(root .. "/apps/echo/init.lua")

local function decode(s)
    return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

return function(req, res)
    local status = req.path:match("^/redirect/(%d%d%d)$")
    if status then
        local to = req.query:match("to=([^&]*)")
        res.statusCode = tonumber(status)
        res:setHeader("Location", decode(to or "/"))
        res:setHeader("Content-Type", "text/plain")
        res:finish("moved to " .. decode(to or "/"))
        return
    end
    local hops = tonumber(req.path:match("^/hops/(%d+)$") or "")
    if hops then
        res.statusCode = 302
        res:setHeader("Location", hops > 1 and tostring(hops - 1) or "/echo/done")
        res:finish()
        return
    end
    return echo(req, res)
end
