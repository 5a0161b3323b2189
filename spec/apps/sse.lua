-- lunaserve.sse: streams that stay open after their handler returns, fed by other requests.
local lunaserve = require("lunaserve")
local kit = require("testkit")

local streams = {} -- open streams by name
local log = {}     -- what happened, for /state

return kit.router({
    -- opens stream ?name= with keep-alive every ?ka= ms (0: none)
    ["/events"] = function(req, res)
        local name = kit.param(req, "name")
        local ka = tonumber(kit.param(req, "ka") or "0")
        local stream = lunaserve.sse(res, { keepalive = ka > 0 and ka / 1000 or false })
        streams[name] = stream
        log["closed_" .. name] = "no"
        stream:on_close(function()
            log["closed_" .. name] = "yes"
        end)
    end,
    -- sends the event set ?set= to stream ?name=; answers what send returned
    ["/send"] = function(req, res)
        local stream = streams[kit.param(req, "name")]
        local sets = {
            full = { event = "update", id = "7", retry = 2500, data = "one\ntwo\r\nthree\rfour" },
            plain = { data = "hello" },
            trailing = { data = "a\n" },
            empty = { data = "" },
            id = { id = "" },
            number = { data = 42, event = "n" },
        }
        local ok, err = stream:send(sets[kit.param(req, "set")])
        res:finish(tostring(ok) .. "," .. tostring(err))
    end,
    ["/comment"] = function(req, res)
        local ok, err = streams[kit.param(req, "name")]:comment("note\nsecond")
        res:finish(tostring(ok) .. "," .. tostring(err))
    end,
    ["/close"] = function(req, res)
        local stream = streams[kit.param(req, "name")]
        res:finish(tostring(stream:close()) .. "," .. tostring(stream:close()))
    end,
    -- a send with a field that would break the framing raises
    ["/bad"] = function(req, res)
        local stream = streams[kit.param(req, "name")]
        local cases = {
            event = { event = "a\nb", data = "x" },
            id = { id = "1\r2" },
            nul = { id = "1\0" },
            retry = { retry = 1.5 },
            data = { data = {} },
            nothing = {},
        }
        local ok, err = pcall(stream.send, stream, cases[kit.param(req, "case")])
        res:finish(ok and "accepted" or tostring(err):gsub("^.-sse: ", "sse: "))
    end,
    ["/state"] = function(_, res)
        log.pending_timers = lunaserve.timer.pending_count()
        res:finish(kit.kv(log))
    end,
})
