-- Test app for the specs of the request lifecycle and the Lua API (docs/ARCHITECTURE.md, the
-- connection contract; the README's Lua API). Each route exercises one part of the req/res API;
-- what cannot be seen on the wire is recorded in module-level state that the /state and /events
-- routes report (one Lua state per server, so later requests see it).

local lunaserve = require("lunaserve")

local state = {}
local events = {}

local function record(event)
    events[#events + 1] = event
end

local kv = require("testkit").kv

-- "ok:<results>" or "error:<message>" for what a pcall returned.
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

-- Describes the outcome of pcall(f, ...): "ok:<results>" or "error".
local function try(f, ...)
    local r = outcome(pcall(f, ...))
    return r:find("^error:") and "error" or r
end

local query_param = require("testkit").param

local routes = {}

routes["/ping"] = function(req, res)
    res:finish("pong")
end

routes["/state"] = function(req, res)
    res:setHeader("Content-Type", "text/plain")
    res:finish(kv(state))
end

routes["/events"] = function(req, res)
    res:finish(table.concat(events, ","))
end

routes["/reset"] = function(req, res)
    state = {}
    events = {}
    res:finish("reset")
end

-- Lifecycle 1: finish returns at once; a second call does nothing and returns false;
-- 'finish' is emitted once.
routes["/finish-twice"] = function(req, res)
    local id = query_param(req, "id") or "0"
    state["finished_before_" .. id] = res.finished
    res:on("finish", function()
        record("finish:" .. id)
    end)
    local r1 = res:finish("first")
    local r2 = res:finish("second")
    state["finish1_" .. id] = r1
    state["finish2_" .. id] = r2
    state["finished_after_" .. id] = res.finished
    record("handler-done:" .. id)
end

-- A large body: 'finish' must wait until the kernel took the last byte.
routes["/big-finish"] = function(req, res)
    local n = tonumber(query_param(req, "n") or "1000")
    res:on("finish", function()
        record("bigfinish")
    end)
    res:finish(string.rep("z", n))
    record("big-handler-done")
end

-- Lifecycle 3: the initial value of res.shouldKeepAlive.
routes["/ska"] = function(req, res)
    res:finish(tostring(res.shouldKeepAlive))
end

-- Lifecycle 2/3: the handler turns keep-alive off.
routes["/no-keepalive"] = function(req, res)
    res.shouldKeepAlive = false
    state.ska_after_set = res.shouldKeepAlive
    res:finish("closing")
end

-- Lifecycle 4: destroy tears the connection down; later calls are harmless.
routes["/destroy"] = function(req, res)
    res:on("close", function()
        record("res-close")
    end)
    req:on("close", function()
        record("req-close")
    end)
    res:setHeader("X-Before", "1")
    res:destroy()
    state.destroy_write = try(res.write, res, "after destroy")
    state.destroy_setHeader = try(res.setHeader, res, "X-After", "1")
    state.destroy_writeHead = try(res.writeHead, res, 200)
    state.destroy_finish = try(res.finish, res, "after destroy")
    state.destroy_again = try(res.destroy, res)
    state.destroy_req_read = try(req.read, req)
    state.destroy_done = true
end

routes["/req-destroy"] = function(req, res)
    res:on("close", function()
        record("res-close")
    end)
    req:destroy()
    state.reqdestroy_write = try(res.write, res, "after destroy")
    state.reqdestroy_finish = try(res.finish, res)
    state.reqdestroy_done = true
end

-- Destroy with output still queued: the queue is discarded and the socket reset.
routes["/destroy-unsent"] = function(req, res)
    local n = tonumber(query_param(req, "n") or "33554432")
    res:writeHead(200, { ["Content-Type"] = "application/octet-stream" })
    state.unsent_write = res:write(string.rep("u", n))
    lunaserve.sleep(150)
    res:destroy()
    state.unsent_done = true
end

-- Lifecycle 6: the client disconnects while the body is still arriving.
routes["/abort-body"] = function(req, res)
    req:on("close", function()
        record("abort-req-close")
    end)
    res:on("close", function()
        record("abort-res-close")
    end)
    state.abort_aborted_before = req.aborted
    local ok, body = pcall(req.body, req)
    state.abort_body_call = ok and ("ok:" .. tostring(body)) or "error"
    state.abort_aborted = req.aborted
    local wok, w = pcall(res.write, res, "late")
    state.abort_write = wok and tostring(w) or "error"
    local fok = pcall(res.finish, res, "late end")
    state.abort_finish = fok and "ok" or "error"
    state.abort_done = true
end

-- The client disconnects while the handler sleeps (request complete, response not begun).
routes["/abort-sleep"] = function(req, res)
    req:on("close", function()
        record("sleep-req-close")
    end)
    lunaserve.sleep(tonumber(query_param(req, "ms") or "300"))
    local results = {}
    for i = 1, 5 do
        local ok, w = pcall(res.write, res, string.rep("w", 1000))
        results[#results + 1] = ok and tostring(w) or "error"
        lunaserve.sleep(20)
    end
    state.sleep_writes = table.concat(results, ",")
    local fok = pcall(res.finish, res)
    state.sleep_finish = fok and "ok" or "error"
    state.sleep_aborted = req.aborted
    state.sleep_done = true
end

-- Lifecycle 8: handler errors.
routes["/error"] = function(req, res)
    error("boom-before-head")
end

routes["/error-after-sleep"] = function(req, res)
    lunaserve.sleep(20)
    error("boom-after-sleep")
end

routes["/error-after-head"] = function(req, res)
    res:writeHead(200, { ["Content-Type"] = "text/plain" })
    res:write("partial")
    lunaserve.sleep(50)
    error("boom-after-head")
end

routes["/error-after-head-length"] = function(req, res)
    res:writeHead(200, { ["Content-Length"] = "100" })
    res:write("partial")
    lunaserve.sleep(50)
    error("boom-after-head-length")
end

-- Response splitting: header names/values with CR, LF or NUL raise a Lua error.
routes["/inject-setheader"] = function(req, res)
    local out = {}
    out.value_crlf = try(res.setHeader, res, "X-A", "a\r\nX-Injected: 1")
    out.value_lf = try(res.setHeader, res, "X-B", "b\nX-Injected: 2")
    out.value_cr = try(res.setHeader, res, "X-C", "c\rX-Injected: 3")
    out.value_nul = try(res.setHeader, res, "X-D", "d\0e")
    out.name_crlf = try(res.setHeader, res, "X-E\r\nX-Injected", "4")
    out.name_lf = try(res.setHeader, res, "X-F\nX-Injected", "5")
    out.name_nul = try(res.setHeader, res, "X-G\0", "6")
    out.good = try(res.setHeader, res, "X-Good", "fine")
    res:finish(kv(out))
end

routes["/inject-writehead"] = function(req, res)
    local r1 = try(res.writeHead, res, 200, { ["X-A"] = "a\r\nX-Injected: 1" })
    if r1 ~= "error" then
        res:finish("writeHead accepted a CRLF value")
        return
    end
    local r2 = try(res.writeHead, res, 200, { ["X-B\r\nX-Injected"] = "2" })
    if r2 ~= "error" then
        res:finish("writeHead accepted a CRLF name")
        return
    end
    res:finish("both-raised")
end

-- setHeader/getHeader/hasHeader/removeHeader.
routes["/headers-api"] = function(req, res)
    local out = {}
    res:setHeader("X-One", "1")
    res:setHeader("X-Two", "2")
    res:setHeader("X-Replaced", "old")
    res:setHeader("X-Replaced", "new")
    out.get_same_case = tostring(res:getHeader("X-One"))
    out.get_lower_case = tostring(res:getHeader("x-one"))
    out.get_missing = tostring(res:getHeader("X-Missing"))
    out.has_one = tostring(res:hasHeader("X-One"))
    out.has_lower = tostring(res:hasHeader("x-two"))
    out.has_missing = tostring(res:hasHeader("X-Missing"))
    res:removeHeader("X-Two")
    out.has_two_after_remove = tostring(res:hasHeader("X-Two"))
    out.get_two_after_remove = tostring(res:getHeader("X-Two"))
    out.headers_sent_before = tostring(res.headersSent)
    res:setHeader("Content-Type", "text/plain")
    res:finish(kv(out))
end

routes["/writehead"] = function(req, res)
    res:writeHead(201, "Made", { ["X-W"] = "w" })
    res:finish("ok")
end

routes["/writehead-status-only"] = function(req, res)
    res:writeHead(202)
    res:finish("accepted")
end

routes["/status-props"] = function(req, res)
    res.statusCode = 202
    res.statusMessage = "Fine"
    state.status_code_read = res.statusCode
    res:finish("x")
end

routes["/headers-sent"] = function(req, res)
    state.hs_before = res.headersSent
    res:writeHead(200, { ["Content-Type"] = "text/plain" })
    res:write("a")
    state.hs_after_write = res.headersSent
    state.finished_before_finish = res.finished
    res:finish("b")
    state.finished_after_finish = res.finished
end

routes["/end-alias"] = function(req, res)
    state.end_is_finish = (res["end"] == res.finish)
    res["end"](res, "via end")
end

-- Framing choice.
routes["/fixed"] = function(req, res)
    res:finish("0123456789")
end

routes["/empty"] = function(req, res)
    res:finish()
end

routes["/big"] = function(req, res)
    res:finish(string.rep("b", 300000))
end

routes["/stream"] = function(req, res)
    res:write("ab")
    res:write("cde")
    res:finish("f")
end

routes["/stream-yield"] = function(req, res)
    res:write("ab")
    lunaserve.sleep(10)
    res:write("cde")
    lunaserve.sleep(10)
    res:finish()
end

routes["/stream-empty-writes"] = function(req, res)
    res:write("")
    res:write("abc")
    res:write("")
    res:finish("")
end

routes["/declared-length"] = function(req, res)
    res:setHeader("Content-Length", "5")
    res:write("he")
    res:write("llo")
    res:finish()
end

-- Lifecycle 7: a status that forbids a body, whatever the handler writes.
routes["/nobody"] = function(req, res)
    local code = tonumber(query_param(req, "code") or "204")
    res:writeHead(code)
    res:write("should not appear")
    res:finish("nor this")
end

routes["/nobody-finish"] = function(req, res)
    res.statusCode = tonumber(query_param(req, "code") or "204")
    res:finish("should not appear")
end

-- HEAD: the handler writes a body anyway.
routes["/body-anyway"] = function(req, res)
    res:setHeader("Content-Type", "text/plain")
    res:write("some ")
    res:finish("body")
end

routes["/body-anyway-fixed"] = function(req, res)
    res:finish("fixed body")
end

-- Backpressure: write until write() returns false, then wait for the drain.
routes["/fill"] = function(req, res)
    local piece = string.rep("y", 65536)
    local n, went_false = 0, false
    while n < 512 do
        n = n + 1
        if res:write(piece) == false then
            went_false = true
            break
        end
    end
    local ok = pcall(res.drain, res)
    res:finish(string.format("\nEND pieces=%d false=%s drained=%s", n, tostring(went_false),
        tostring(ok)))
end

routes["/drain-event"] = function(req, res)
    local piece = string.rep("y", 65536)
    local n, went_false = 0, false
    while n < 512 do
        n = n + 1
        if res:write(piece) == false then
            went_false = true
            break
        end
    end
    if not went_false then
        res:finish(string.format("\nEND pieces=%d false=false drain=none", n))
        return
    end
    res:on("drain", function()
        if not res.finished then
            res:finish(string.format("\nEND pieces=%d false=true drain=event", n))
        end
    end)
end

-- Request fields.
routes["/req-info"] = function(req, res)
    local raw = {}
    local rh = req.rawHeaders or {}
    for _, v in ipairs(rh) do
        if type(v) == "table" then
            raw[#raw + 1] = tostring(v[1])
            raw[#raw + 1] = tostring(v[2])
        else
            raw[#raw + 1] = tostring(v)
        end
    end
    local out = {
        method = req.method,
        url = req.url,
        path = req.path,
        query = req.query,
        httpVersion = req.httpVersion,
        remoteAddress = req.remoteAddress,
        rawHeaders = table.concat(raw, "|"),
        h_x_rep = req.headers["x-rep"],
        h_x_mixed_case = req.headers["x-mixed-case"],
        h_X_Mixed_Case = req.headers["X-Mixed-Case"],
        aborted = req.aborted,
    }
    res:finish(kv(out))
end

-- Answers 413 without reading the request body.
routes["/reject"] = function(req, res)
    res.statusCode = 413
    res:finish("rejected")
end

-- Request bodies: req:body(), req:read() loop, req:on('data'/'end').
routes["/body"] = function(req, res)
    local body = req:body()
    res:setHeader("X-Complete", tostring(req.complete))
    res:finish(body or "<nil>")
end

routes["/read-loop"] = function(req, res)
    local parts, n = {}, 0
    while true do
        local chunk = req:read()
        if chunk == nil then
            break
        end
        n = n + 1
        parts[#parts + 1] = chunk
    end
    res:setHeader("X-Reads", tostring(n))
    res:setHeader("X-Complete", tostring(req.complete))
    res:finish(table.concat(parts))
end

routes["/on-data"] = function(req, res)
    local parts = {}
    req:on("data", function(chunk)
        parts[#parts + 1] = chunk
    end)
    req:on("end", function()
        res:finish("data:" .. table.concat(parts))
    end)
end

-- /nap?id=ID&ms=MS: sleeps MS ms before answering; the spec's client leaves meanwhile. Records
-- the 'close' events, req.aborted and what res:write returns.
routes["/nap"] = function(req, res)
    local id = query_param(req, "id") or "0"
    local ms = tonumber(query_param(req, "ms") or "400")
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

-- /busy?ms=MS: blocks the whole loop (no yield) for MS ms of CPU time (at most about 2 s of
-- wall time on a loaded machine), then answers.
routes["/busy"] = function(req, res)
    local ms = tonumber(query_param(req, "ms") or "500")
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
    local id = query_param(req, "id") or "0"
    local function seen(ev)
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
    res:on("finish", seen("finish"))
    res:on("close", seen("close"))
    res:finish("listening")
end

-- /upload?id=ID: waits for the whole body; req 'close' records the peer address it sees.
routes["/upload"] = function(req, res)
    local id = query_param(req, "id") or "0"
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

-- /ka-lowered: lowers keep-alive, then tries to raise it again.
routes["/ka-lowered"] = function(req, res)
    res.shouldKeepAlive = false
    res.shouldKeepAlive = true
    state.ka_lowered_after_raise = res.shouldKeepAlive
    res:finish("lowered")
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

local function handle(req, res)
    local f = routes[req.path]
    if f then
        return f(req, res)
    end
    res.statusCode = 404
    res:finish("no route " .. tostring(req.path))
end

return { handle = handle }
