-- lunaserve.sse(res[, opts]): a server-sent events stream on a response (the HTML standard's
-- text/event-stream). The head goes out at once (200, Content-Type: text/event-stream,
-- Cache-Control: no-cache, chunked), so the client sees the stream open before the first
-- event.
--
--   stream:send{event =, data =, id =, retry =} -> true; false when the output is above the
--     high-water mark (queued all the same; stream:drain() waits); nil, "closed" once the
--     client has gone or the stream was closed. Data on several lines (CR, LF or CRLF)
--     becomes several data: lines, which the client joins with LF.
--   stream:comment(text) -> as send: a comment line, which clients ignore.
--   stream:close() ends the response.
--   stream.closed is true once the stream has ended, and stream:on_close(fn) calls fn then.
--
-- While the stream is open, a comment goes out every opts.keepalive seconds (default 15;
-- false: none), so that proxies and clients do not time an idle stream out. The timer stops
-- when the stream ends, whichever side ends it.
local lunaserve = require("lunaserve")

local find, sub, gsub, type, tostring, error = string.find, string.sub, string.gsub, type,
    tostring, error
local concat, tointeger = table.concat, math.tointeger

local Stream = {}
Stream.__index = Stream

local DEFAULT_KEEPALIVE = 15

-- Appends "field: line\n" for each line of s (CR, LF, CRLF end a line) to out.
local function add_lines(out, field, s)
    if not find(s, "[\r\n]") then
        out[#out + 1] = field .. s .. "\n"
        return
    end
    s = gsub(gsub(s, "\r\n", "\n"), "\r", "\n")
    local pos = 1
    while true do
        local nl = find(s, "\n", pos, true)
        if not nl then
            out[#out + 1] = field .. sub(s, pos) .. "\n"
            return
        end
        out[#out + 1] = field .. sub(s, pos, nl - 1) .. "\n"
        pos = nl + 1
    end
end

local function one_line(what, v)
    if type(v) == "number" then
        v = tostring(v)
    elseif type(v) ~= "string" then
        error("sse: " .. what .. " must be a string", 3)
    end
    if find(v, "[\r\n]") or (what == "id" and find(v, "\0", 1, true)) then
        error("sse: " .. what .. " must be one line" .. (what == "id" and " without NUL" or ""), 3)
    end
    return v
end

-- The stream is over: the keep-alive stops, listeners run once.
local function ended(self)
    if self.closed then
        return
    end
    self.closed = true
    local fns = self.close_fns
    self.close_fns = nil
    for i = 1, #fns do
        fns[i](self)
    end
end

local function put(self, text)
    if self.closed then
        return nil, "closed"
    end
    local ok, err = self.res:write(text)
    if ok == false and err then -- the response is over or the client gone
        ended(self)
        return nil, "closed"
    end
    self.last_write = lunaserve.now()
    return ok
end

function Stream:send(ev)
    if type(ev) ~= "table" then
        error("sse: send expects a table {event =, data =, id =, retry =}", 2)
    end
    local out = {}
    if ev.event ~= nil then
        out[1] = "event: " .. one_line("event", ev.event) .. "\n"
    end
    if ev.id ~= nil then
        out[#out + 1] = "id: " .. one_line("id", ev.id) .. "\n"
    end
    if ev.retry ~= nil then
        local ms = type(ev.retry) == "number" and tointeger(ev.retry)
        if not ms or ms < 0 then
            error("sse: retry must be a whole number of milliseconds >= 0", 2)
        end
        out[#out + 1] = "retry: " .. ms .. "\n"
    end
    local data = ev.data
    if data ~= nil then
        if type(data) == "number" then
            data = tostring(data)
        elseif type(data) ~= "string" then
            error("sse: data must be a string", 2)
        end
        add_lines(out, "data: ", data)
    end
    if #out == 0 then
        error("sse: send needs at least one of event, data, id, retry", 2)
    end
    out[#out + 1] = "\n"
    return put(self, concat(out))
end

function Stream:comment(text)
    local out = {}
    add_lines(out, ": ", text == nil and "" or tostring(text))
    out[#out + 1] = "\n"
    return put(self, concat(out))
end

-- Waits (in a handler or timer) until the queued output is below the high-water mark.
function Stream:drain()
    if self.closed then
        return nil, "closed"
    end
    local ok = self.res:drain()
    if not ok then
        ended(self)
        return nil, "closed"
    end
    return true
end

function Stream:close()
    if self.closed then
        return false
    end
    ended(self)
    self.res:finish()
    return true
end

function Stream:on_close(fn)
    if self.closed then
        fn(self)
    else
        self.close_fns[#self.close_fns + 1] = fn
    end
end

-- The keep-alive: a chain of one-shot timers that ends with the stream. A comment goes out
-- only when nothing else was written for a whole interval.
local function arm(self)
    local function tick(premature)
        if self.closed then
            return
        end
        if premature then -- the app reloads or the worker stops: no more keep-alives
            return
        end
        local idle = lunaserve.now() - self.last_write
        if idle >= self.keepalive - 0.001 then
            if not put(self, ":\n\n") then
                return
            end
            idle = 0
        end
        lunaserve.timer.at(self.keepalive - idle, tick)
    end
    lunaserve.timer.at(self.keepalive, tick)
end

return function(res, opts)
    local keepalive = DEFAULT_KEEPALIVE
    if opts ~= nil then
        if type(opts) ~= "table" then
            error("sse: options must be a table", 2)
        end
        if opts.keepalive ~= nil then
            keepalive = opts.keepalive
            if keepalive ~= false and (type(keepalive) ~= "number" or not (keepalive > 0)) then
                error("sse: keepalive must be a number of seconds > 0, or false", 2)
            end
        end
    end
    local self = setmetatable({ res = res, closed = false, close_fns = {},
        keepalive = keepalive, last_write = lunaserve.now() }, Stream)
    res.statusCode = 200
    res:setHeader("Content-Type", "text/event-stream")
    res:setHeader("Cache-Control", "no-cache")
    local function gone()
        ended(self)
    end
    res:on("close", gone)
    res:on("finish", gone)
    if not res:flushHeaders() then
        ended(self)
        return self
    end
    if keepalive then
        arm(self)
    end
    return self
end
