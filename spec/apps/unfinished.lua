-- Test app for spec/unfinished_handler_spec.lua and spec/kept_response_spec.lua: handlers that
-- return without finishing, some leaving nothing that could finish the response (the server
-- must answer for them), some keeping it on purpose (the app finishes it later).
local lunaserve = require("lunaserve")
local param = require("testkit").param

local routes = {}

routes["/ping"] = function(req, res)
    res:finish("pong")
end

-- The existing error path, for comparison.
routes["/error"] = function(req, res)
    res:setHeader("X-Set", "1")
    error("boom")
end

-- Returns without finishing; nothing refers to res afterwards.
routes["/unfinished"] = function(req, res)
    res:setHeader("X-Set", "1")
    res:on("close", function() end) -- a 'close' listener does not keep a response
end

-- The same after a wait.
routes["/unfinished-after-sleep"] = function(req, res)
    lunaserve.sleep(20)
    res:setHeader("X-Set", "1")
end

-- The head (and a first chunk) went out; then the handler returns.
routes["/unfinished-after-write"] = function(req, res)
    res:write("partial")
end

-- An 'end' listener that does not finish either.
routes["/end-without-finish"] = function(req, res)
    req:on("end", function() end)
end

-- /park?id=ID: a long poll: the response is kept in a table; /release?id=ID finishes it.
local parked = {}
routes["/park"] = function(req, res)
    parked[param(req, "id")] = res
end

routes["/release"] = function(req, res)
    local id = param(req, "id")
    local kept = parked[id]
    parked[id] = nil
    res:finish(tostring(kept and kept:finish("released " .. id)))
end

-- Node style: the body listeners answer, after the handler has returned.
routes["/node"] = function(req, res)
    local parts = {}
    req:on("data", function(chunk)
        parts[#parts + 1] = chunk
    end)
    req:on("end", function()
        res:finish("node:" .. table.concat(parts))
    end)
end

-- /drain-listener?n=BYTES: one write of BYTES bytes, refused (over the high-water mark) while
-- the client does not read; a 'drain' listener finishes once it has.
routes["/drain-listener"] = function(req, res)
    if res:write(string.rep("d", tonumber(param(req, "n")))) then
        res:finish("no drain pending")
        return
    end
    res:on("drain", function()
        res:finish("END")
    end)
end

-- Full collections, as the server's own one does.
routes["/collect"] = function(req, res)
    collectgarbage()
    collectgarbage()
    res:finish("collected")
end

return function(req, res)
    local route = routes[req.path]
    if route then
        return route(req, res)
    end
    res.statusCode = 404
    res:finish("no route " .. req.path)
end
