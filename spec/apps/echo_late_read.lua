-- apps/echo (loaded from the repository), plus one route whose handler waits before it reads
-- the request body, so that a spec can see *when* the server sends `100 Continue` (only once the
-- handler first reads the body). The server of the specs of refused and odd requests.

local lunaserve = require("lunaserve")

local here = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$") or "."
local echo = dofile(here .. "/../../apps/echo/init.lua")

return function(req, res)
    if req.path == "/late-read" then
        -- GET/POST /late-read?ms=N: sleep N ms (no read yet), then read the whole body
        local ms = tonumber((req.query or ""):match("ms=(%d+)") or "400")
        lunaserve.sleep(ms)
        local body = req:body()
        if not body then
            return
        end
        res:setHeader("Content-Type", "text/plain")
        res:finish("got:" .. body)
        return
    end
    return echo(req, res)
end
