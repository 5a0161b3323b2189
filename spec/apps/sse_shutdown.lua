-- Server-sent event streams that end when the worker stops (spec/shutdown_streams_spec.lua).
--   /loop   a stream its handler feeds until lunaserve.exiting(): it sleeps 100 ms a round,
--           then sends "bye" (what exiting() said) and ends the stream.
--   /timer  a stream kept after its handler returns; an every() timer's premature call sends
--           "bye" to every such stream and ends it.
--   /slow   an ordinary request that answers "slow done" after ?ms= ms.
--   /waiter a timer call (at(0)) that sleeps ?ms= ms; answers what at returned.
-- Each stream first sends an event "hello", so that a client knows its handler has run.
local lunaserve = require("lunaserve")
local kit = require("testkit")

local kept = {} -- the /timer streams still open

assert(lunaserve.timer.every(3600, function(premature)
    if not premature then
        return
    end
    for stream in pairs(kept) do
        stream:send({ event = "bye", data = "premature" })
        stream:close()
    end
end))

return kit.router({
    ["/loop"] = function(_, res)
        local stream = lunaserve.sse(res, { keepalive = false })
        stream:send({ event = "hello", data = "loop" })
        while not lunaserve.exiting() and not stream.closed do
            lunaserve.sleep(100)
        end
        stream:send({ event = "bye", data = "exiting=" .. tostring(lunaserve.exiting()) })
        stream:close()
    end,
    ["/timer"] = function(_, res)
        local stream = lunaserve.sse(res, { keepalive = false })
        kept[stream] = true
        stream:on_close(function()
            kept[stream] = nil
        end)
        stream:send({ event = "hello", data = "timer" })
    end,
    ["/waiter"] = function(req, res)
        local ms = tonumber(kit.param(req, "ms"))
        local ok, err = lunaserve.timer.at(0, function()
            lunaserve.sleep(ms)
        end)
        res:finish(tostring(ok) .. "," .. tostring(err))
    end,
    ["/slow"] = function(req, res)
        lunaserve.sleep(tonumber(kit.param(req, "ms")))
        res:finish("slow done")
    end,
})
