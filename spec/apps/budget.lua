-- Test app for spec/handler_budget_spec.lua (docs/ARCHITECTURE.md, the defaults table, "handler
-- CPU budget per resume"): handlers that never yield, in several shapes, and one that works hard
-- but yields between its pieces.

local lunaserve = require("lunaserve")

local routes = {}

routes["/ping"] = function(req, res)
    res:finish("pong" .. ((req.query or "") ~= "" and (":" .. req.query) or ""))
end

-- Spins before anything was sent: the server must answer 500.
routes["/spin"] = function(req, res)
    while true do end
end

-- Spins after the head and part of a chunked body went out: the server must close.
routes["/spin-after-write"] = function(req, res)
    res:setHeader("Content-Type", "text/plain")
    res:write("partial")
    while true do end
end

-- Catches the budget's error and goes on spinning: must still be stopped.
routes["/pcall-spin"] = function(req, res)
    while true do
        pcall(function() while true do end end)
    end
end

-- Works (spins) ~MS ms per resume, N times, yielding (sleep 30 ms) in between: each resume
-- stays under the budget although the total is over it. The ms are read on the budget's own
-- clock, the wall clock: MS ms of CPU time would take longer than the budget on a loaded
-- machine (two runnable processes per core: 150 ms of CPU is 300 ms of wall time).
local function wall()
    lunaserve.update_time()
    return lunaserve.now()
end

routes["/work-and-yield"] = function(req, res)
    local q = req.query or ""
    local ms = tonumber(q:match("ms=(%d+)") or "150")
    local n = tonumber(q:match("n=(%d+)") or "3")
    for i = 1, n do
        local t0 = wall()
        while wall() - t0 < ms / 1000 do end
        if i < n then
            lunaserve.sleep(30)
        end
    end
    res:finish("worked " .. n .. "x" .. ms .. "ms")
end

return function(req, res)
    local f = routes[req.path]
    if f then
        return f(req, res)
    end
    res.statusCode = 404
    res:finish("no route")
end
