-- Test app for spec/wait_outside_handler_spec.lua (waits in listeners raise an error naming
-- the call) and spec/load_waits_spec.lua (waits at load time work).
local lunaserve = require("lunaserve")

-- LUNASERVE_SPEC_WAIT_AT_LOAD=sleep | coroutine: a wait while the app loads (it works).
local at_load = os.getenv("LUNASERVE_SPEC_WAIT_AT_LOAD")
if at_load == "sleep" then
    lunaserve.sleep(10)
elseif at_load == "coroutine" then
    coroutine.wrap(function()
        lunaserve.sleep(10)
    end)()
end

local routes = {}

-- POST /read-in-listener: a 'data' listener calls req:read() before the rest of the body has
-- come, which would have to wait.
routes["/read-in-listener"] = function(req, res)
    req:on("data", function()
        req:read()
    end)
    req:on("end", function()
        res:finish("end")
    end)
end

-- GET /sleep-in-listener: a 'finish' listener sleeps, in a coroutine it made.
routes["/sleep-in-listener"] = function(req, res)
    res:on("finish", function()
        coroutine.wrap(function()
            lunaserve.sleep(10)
        end)()
    end)
    res:finish("finished")
end

routes["/ping"] = function(req, res)
    res:finish("pong")
end

return function(req, res)
    local route = routes[req.path]
    if route then
        return route(req, res)
    end
    res.statusCode = 404
    res:finish("no route " .. req.path)
end
