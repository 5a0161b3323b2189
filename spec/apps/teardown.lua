-- Test app for spec/teardown_spec.lua: a handler that sleeps while its client goes away, and
-- records what it sees (the 'close' events, req.aborted, what res:write returns) in module
-- state that /state reports as key=value lines (one Lua state per server).

local lunaserve = require("lunaserve")

local state = {}

local kv = require("testkit").kv

local param = require("testkit").param

local routes = {}

routes["/ping"] = function(req, res)
    res:finish("pong")
end

routes["/state"] = function(req, res)
    res:setHeader("Content-Type", "text/plain")
    res:finish(kv(state))
end

-- /nap?id=ID&ms=MS: sleeps MS ms before answering; the spec's client leaves meanwhile.
routes["/nap"] = function(req, res)
    local id = param(req, "id") or "0"
    local ms = tonumber(param(req, "ms") or "400")
    local closes = 0
    state["aborted_before_" .. id] = req.aborted
    req:on("close", function()
        closes = closes + 1
        state["req_closes_" .. id] = closes
        state["aborted_in_close_" .. id] = req.aborted
    end)
    res:on("close", function()
        state["res_close_" .. id] = true
    end)
    lunaserve.sleep(ms)
    state["closes_at_wake_" .. id] = closes
    state["aborted_at_wake_" .. id] = req.aborted
    local writes = {}
    for i = 1, 3 do
        local ok, r = pcall(res.write, res, string.rep("w", 1000))
        writes[i] = ok and tostring(r) or ("error:" .. tostring(r))
    end
    state["writes_" .. id] = table.concat(writes, ",")
    local ok = pcall(res.finish, res, "late")
    state["finish_" .. id] = ok and "ok" or "error"
    state["done_" .. id] = true
end

return {
    handle = function(req, res)
        local f = routes[req.path]
        if f then
            return f(req, res)
        end
        res.statusCode = 404
        res:finish("no route " .. tostring(req.path))
    end,
}
