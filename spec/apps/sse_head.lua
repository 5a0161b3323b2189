-- lunaserve.sse answering HEAD (spec/sse_head_spec.lua), on a router's GET route (which
-- serves HEAD) and on a plain handler's. GET /events sends "first", then "more" every 50 ms
-- for as long as send says yes (keep-alive every 50 ms), and notes what its first send
-- returned, whether the stream was closed, and how many rounds it ran; /state answers the
-- notes and the pending timers.
local lunaserve = require("lunaserve")
local router = require("lunaserve.router")
local kit = require("testkit")

local notes = {}

local function events(prefix)
    return function(_, res)
        local stream = lunaserve.sse(res, { keepalive = 0.05 })
        local ok, err = stream:send({ data = "first" })
        notes[prefix .. "send"] = tostring(ok) .. "," .. tostring(err)
        notes[prefix .. "closed"] = tostring(stream.closed)
        local rounds = 0
        while ok do
            lunaserve.sleep(50)
            rounds = rounds + 1
            ok = stream:send({ data = "more" })
        end
        notes[prefix .. "rounds"] = rounds
    end
end

local function state(_, res)
    notes.pending_timers = lunaserve.timer.pending_count()
    res:finish(kit.kv(notes))
end

local app = router.new()
app:get("/events", events("router_"))
app:get("/state", state)

local plain = kit.router({ ["/plain/events"] = events("plain_"), ["/plain/state"] = state })

return function(req, res)
    if req.path:find("^/plain/") then
        return plain(req, res)
    end
    return app.handle(req, res)
end
