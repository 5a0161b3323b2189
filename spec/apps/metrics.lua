-- Test app for the metrics specs: the app's own metrics (lunaserve.metrics).
--   /hit/NAME       app_hits_total{route=NAME} + 1
--   /queue/N        app_queue_length = N
--   /observe/V      app_job_seconds{kind="k"} observes V
--   /series/N       makes N series of app_series_total; answers "ok=K err=E last=<err>"
--   /define/NAME    metrics.counter(NAME) in pcall: "ok" or the error
--   /redefine       app_hits_total again as a gauge: the error
--   /metrics        metrics.handler (the app mounts it itself)
--   /value/NAME     app_hits_total's value for NAME
--   /fail           a handler error; /spin: a handler that never yields (budget)
local metrics = require("lunaserve.metrics")

local hits = metrics.counter("app_hits_total", "Hits by route.", { "route" })
local queue = metrics.gauge("app_queue_length", "Jobs waiting.")
local job = metrics.histogram("app_job_seconds", "Time per job.", { "kind" }, { 0.1, 1 })
local many = metrics.counter("app_series_total", "One series per number.", { "n" })

return function(req, res)
    local kind, arg = req.path:match("^/(%a+)/?(.*)$")
    if kind == "hit" then
        assert(hits:inc(1, { arg }))
        return res:finish("ok")
    elseif kind == "queue" then
        assert(queue:set(tonumber(arg)))
        return res:finish("ok")
    elseif kind == "observe" then
        assert(job:observe(tonumber(arg), { "k" }))
        return res:finish("ok")
    elseif kind == "series" then
        local ok, bad, last = 0, 0, ""
        for i = 1, tonumber(arg) do
            local r, err = many:inc(1, { tostring(i) })
            if r then ok = ok + 1 else bad, last = bad + 1, err end
        end
        return res:finish(("ok=%d err=%d last=%s"):format(ok, bad, last))
    elseif kind == "define" then
        local ok, err = pcall(metrics.counter, arg, "help", { "a" })
        return res:finish(ok and "ok" or tostring(err))
    elseif kind == "redefine" then
        local ok, err = pcall(metrics.gauge, "app_hits_total", "Hits by route.", { "route" })
        return res:finish(ok and "ok" or tostring(err))
    elseif kind == "metrics" then
        return metrics.handler(req, res)
    elseif kind == "value" then
        return res:finish(tostring(hits:value({ arg })))
    elseif kind == "fail" then
        error("planned failure")
    elseif kind == "spin" then
        while true do end
    end
    res.statusCode = 404
    res:finish("no")
end
