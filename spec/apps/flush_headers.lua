-- res:flushHeaders(): the head goes out before the first write.
local lunaserve = require("lunaserve")
local kit = require("testkit")

local log = {} -- what the handlers saw, for /state

return kit.router({
    -- head now, body 300 ms later, chunked
    ["/stream"] = function(_, res)
        res:setHeader("X-Early", "yes")
        log.flush = tostring(res:flushHeaders())
        log.sent = tostring(res.headersSent)
        lunaserve.sleep(300)
        res:write("late")
        res:finish()
    end,
    -- with a Content-Length the head says so, and the body follows
    ["/length"] = function(_, res)
        res:setHeader("Content-Length", "4")
        res:flushHeaders()
        lunaserve.sleep(300)
        res:finish("body")
    end,
    -- a second call does nothing; setHeader after it is an error
    ["/twice"] = function(_, res)
        res:flushHeaders()
        local again = res:flushHeaders()
        local ok, err = pcall(res.setHeader, res, "X-Late", "1")
        res:finish(tostring(again) .. "|" .. tostring(ok) .. "|" .. tostring(err))
    end,
    -- after finish: true, nothing else happens
    ["/after-finish"] = function(_, res)
        res:finish("done")
        log.after_finish = tostring(res:flushHeaders())
    end,
    -- 204: no body framing at all
    ["/no-content"] = function(_, res)
        res.statusCode = 204
        res:flushHeaders()
        lunaserve.sleep(100)
        res:finish()
    end,
    -- the client leaves; flushHeaders on the dead response says so
    ["/leave"] = function(_, res)
        res:flushHeaders()
        lunaserve.sleep(300)
        local ok, err = res:flushHeaders()
        log.leave = tostring(ok) .. "," .. tostring(err)
    end,
    ["/state"] = function(_, res)
        res:finish(kit.kv(log))
    end,
})
