-- Test app for spec/regressions_spec.lua: one route per bug fixed after the code review. What
-- handlers and listeners see is recorded in module state, which /state reports as key=value
-- lines (one Lua state per server).

local state = {}

local kv = require("testkit").kv

local param = require("testkit").param

-- "ok:<results>" or "error:<message>" for a pcall
local function outcome(ok, ...)
    if not ok then
        return "error:" .. tostring((...))
    end
    local parts = {}
    for i = 1, select("#", ...) do
        parts[#parts + 1] = tostring((select(i, ...)))
    end
    return "ok:" .. table.concat(parts, ",")
end

local routes = {}

routes["/ping"] = function(req, res)
    res:finish("pong")
end

routes["/state"] = function(req, res)
    res:setHeader("Content-Type", "text/plain")
    res:finish(kv(state))
end

-- /busy?ms=MS: blocks the whole loop (no yield) for MS ms of CPU time (at most about 2 s of
-- wall time on a loaded machine), then answers.
-- /listen-close: one 'close' listener and nothing else, so every other event of the
-- request finds no listener of its own (ls_vm_emit used to leave a value on the main Lua
-- stack for each of those: memory that no collection frees).
routes["/listen-close"] = function(req, res)
    res:on("close", function() end)
    res:finish("ok")
end

-- /lua-memory: Lua's heap in bytes after a full collection.
routes["/lua-memory"] = function(req, res)
    collectgarbage()
    collectgarbage()
    res:finish(tostring(math.floor(collectgarbage("count") * 1024)))
end

-- /save-req keeps req and req.headers past the request; /check-req reads them again later.
local saved_req, saved_headers
routes["/save-req"] = function(req, res)
    saved_req, saved_headers = req, req.headers
    res:finish("saved")
end

routes["/check-req"] = function(req, res)
    local h = saved_req and saved_req.headers
    res:finish(string.format("%s %s %s", tostring(h ~= nil), tostring(h == saved_headers),
        tostring(h and h["x-probe"])))
end

routes["/busy"] = function(req, res)
    local ms = tonumber(param(req, "ms") or "500")
    local t, w = os.clock(), os.time()
    while os.clock() - t < ms / 1000 and os.time() - w < 2 do
    end
    res:finish("busy done")
end

-- /flood: ignores write() == false and queues 100000 x 4000 bytes in one go.
routes["/flood"] = function(req, res)
    local s = string.rep("q", 4000)
    local falses, errors = 0, 0
    for _ = 1, 100000 do
        local ok, r = pcall(res.write, res, s)
        if not ok then
            errors = errors + 1
        elseif r == false then
            falses = falses + 1
        end
    end
    state.flood_false = falses
    state.flood_errors = errors
    state.flood_finish = outcome(pcall(res.finish, res))
    state.flood_done = true
end

-- /listen?id=ID: 'finish' and 'close' listeners record the req fields they see.
routes["/listen"] = function(req, res)
    local id = param(req, "id") or "0"
    local function record(ev)
        return function()
            state[ev .. "_method_" .. id] = req.method
            state[ev .. "_url_" .. id] = req.url
            state[ev .. "_path_" .. id] = req.path
            state[ev .. "_remote_" .. id] = req.remoteAddress
            state[ev .. "_query_" .. id] = req.query
            state[ev .. "_version_" .. id] = req.httpVersion
            state[ev .. "_probe_" .. id] = req.headers["x-probe"]
            state[ev .. "_raw_" .. id] = table.concat(req.rawHeaders, "|")
            state[ev .. "_fired_" .. id] = true
        end
    end
    res:on("finish", record("finish"))
    res:on("close", record("close"))
    res:finish("listening")
end

-- /upload?id=ID: waits for the whole body; req 'close' records the peer address it sees.
routes["/upload"] = function(req, res)
    local id = param(req, "id") or "0"
    req:on("close", function()
        state["close_remote_" .. id] = req.remoteAddress
        state["close_aborted_" .. id] = req.aborted
        state["close_fired_" .. id] = true
    end)
    local body, err = req:body()
    state["body_" .. id] = tostring(body and #body) .. "," .. tostring(err)
    if body then
        res:finish("got " .. #body)
    end
end

-- /ka: tries to force keep-alive on.
routes["/ka"] = function(req, res)
    res.shouldKeepAlive = true
    state.ka_after_set = res.shouldKeepAlive
    res:finish("ka")
end

-- /destroy-calls: destroys, then uses the response every way; records each outcome.
routes["/destroy-calls"] = function(req, res)
    res:destroy()
    state.dc_setHeader = outcome(pcall(res.setHeader, res, "X-After", "1"))
    state.dc_statusCode = outcome(pcall(function() res.statusCode = 201 end))
    state.dc_writeHead = outcome(pcall(res.writeHead, res, 200))
    state.dc_removeHeader = outcome(pcall(res.removeHeader, res, "X-After"))
    state.dc_write = outcome(pcall(res.write, res, "late"))
    state.dc_finish = outcome(pcall(res.finish, res, "late"))
    state.dc_done = true
end

-- /short: a Content-Length the body does not reach.
routes["/short"] = function(req, res)
    res:setHeader("Content-Length", 10)
    res:finish("abc")
end

-- /drain-race: a coroutine the handler created waits in req:read() (the body has not been
-- sent), which suspends the handler with it; meanwhile /drain-race-drain, another request,
-- calls res:drain() on this response and reports what drain did.
local race_res
routes["/drain-race"] = function(req, res)
    local reader = coroutine.create(function()
        local d, e = req:read()
        state.reader_result = tostring(d) .. "," .. tostring(e)
        state.reader_done = true
    end)
    race_res = res
    state.reader_waiting = true
    state.reader_start = outcome(coroutine.resume(reader))
    res:finish("reader_start=" .. state.reader_start .. "\n")
end

routes["/drain-race-drain"] = function(req, res)
    local r = outcome(pcall(race_res.drain, race_res))
    state.drain_result = r
    res:finish("drain=" .. r .. "\n")
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
