-- lunaserve.sse keep-alives beside the app's own timers (spec/sse_keepalive_timers_spec.lua).
--   /events?ka=MS   a stream with a keep-alive every MS ms, kept open after the handler
--   /timer          starts the app's own timer.at(0.05); answers what at returned
--   /state          how many of those timers have fired, and the pending timers
local lunaserve = require("lunaserve")
local kit = require("testkit")

local streams = {}
local fired = 0

return kit.router({
    ["/events"] = function(req, res)
        local stream = lunaserve.sse(res, { keepalive = tonumber(kit.param(req, "ka")) / 1000 })
        streams[stream] = true
        stream:on_close(function()
            streams[stream] = nil
        end)
    end,
    ["/timer"] = function(_, res)
        local ok, err = lunaserve.timer.at(0.05, function(premature)
            if not premature then
                fired = fired + 1
            end
        end)
        res:finish(tostring(ok) .. "," .. tostring(err))
    end,
    ["/state"] = function(_, res)
        res:finish(kit.kv({ fired = fired, pending_timers = lunaserve.timer.pending_count() }))
    end,
})
