-- Test app for spec/coroutine_semantics_spec.lua.
local lunaserve = require("lunaserve")
local script = require("coroutine_script")

local routes = {}

-- GET /script: runs spec/apps/coroutine_script.lua with a real wait (a 5 ms sleep), then
-- answers its lines and the number of waits.
routes["/script"] = function(req, res)
    local waits = 0
    local lines = script(function()
        lunaserve.sleep(5)
        waits = waits + 1
    end)
    res:finish(table.concat(lines, "\n") .. "\nwaits=" .. waits .. "\n")
end

-- GET /hold: a coroutine that waits (in a 300 ms sleep) suspends this handler; /poke, from
-- another request meanwhile, tries to resume or close it and the handler's own coroutine.
local held, held_handler
routes["/hold"] = function(req, res)
    held_handler = coroutine.running()
    held = coroutine.create(function(a)
        lunaserve.sleep(300)
        return a * 2
    end)
    local ok, v = coroutine.resume(held, 21)
    res:finish("hold " .. tostring(ok) .. " " .. tostring(v) .. " " .. coroutine.status(held))
end

routes["/poke"] = function(req, res)
    local out = {}
    local function put(...)
        local parts = {}
        for i = 1, select("#", ...) do
            parts[i] = tostring((select(i, ...)))
        end
        out[#out + 1] = table.concat(parts, " ")
    end
    put("status", coroutine.status(held), coroutine.status(held_handler))
    put("resume", coroutine.resume(held, "intruder"))
    put("resume handler", coroutine.resume(held_handler, "intruder"))
    put("close", pcall(coroutine.close, held))
    put("close handler", pcall(coroutine.close, held_handler))
    res:finish(table.concat(out, "\n") .. "\n")
end

return function(req, res)
    local route = routes[req.path]
    if route then
        return route(req, res)
    end
    res.statusCode = 404
    res:finish("no route " .. req.path)
end
