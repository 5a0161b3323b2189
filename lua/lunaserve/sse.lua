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
-- false: none), so that proxies and clients do not time an idle stream out. It stops when the
-- stream ends, whichever side ends it, and when the code goes away (a reload, the worker
-- stops). The keep-alives of all the streams of the app share one timer, so they do not use
-- up --max-timers.
--
-- The answer to a HEAD request is the stream's head alone: it ends at once, and send returns
-- nil, "closed".
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
local unlink

local function ended(self)
    if self.closed then
        return
    end
    self.closed = true
    unlink(self)
    local fns = self.close_fns
    self.close_fns = nil
    for i = 1, #fns do
        fns[i](self)
    end
end

---------------------------------------------------------------------------------------------
-- Keep-alives. The streams with the same interval are in a list, least recently written
-- first (a write moves a stream to the end), so the first of each list is the next one due.
-- One timer for the whole state is due when the first of them is; each call sends the
-- comments that are due and arms the next. A timer armed earlier than the pending one (a new
-- stream with a shorter interval) takes over: the pending one does nothing when it fires.
---------------------------------------------------------------------------------------------

local lists = {}   -- interval -> { first =, last = } (streams linked by ka_prev, ka_next)
local armed_at     -- when the pending timer is due; nil: none
local generation = 0 -- the pending timer's; an older one does nothing
local stopped = false -- the code goes away: no keep-alives from now on
local ticking = false -- a call is sending comments (it arms the next timer itself)
-- Calls come at most this often: streams due within it share a call (a comment may come up
-- to this much late).
local MIN_GAP = 0.05

local put, tick

local function link(self)
    local list = lists[self.keepalive]
    if not list then
        list = {}
        lists[self.keepalive] = list
    end
    self.ka_list, self.ka_prev, self.ka_next = list, list.last, nil
    if list.last then
        list.last.ka_next = self
    else
        list.first = self
    end
    list.last = self
end

function unlink(self)
    local list = self.ka_list
    if not list then
        return
    end
    if self.ka_prev then
        self.ka_prev.ka_next = self.ka_next
    else
        list.first = self.ka_next
    end
    if self.ka_next then
        self.ka_next.ka_prev = self.ka_prev
    else
        list.last = self.ka_prev
    end
    self.ka_list, self.ka_prev, self.ka_next = nil, nil, nil
    if not list.first then
        lists[self.keepalive] = nil
    end
end

-- Arms the timer for time `due` unless the pending one comes no later.
local function arm(due)
    if stopped or (armed_at and armed_at <= due) then
        return
    end
    local now = lunaserve.now()
    local delay = due > now and due - now or 0
    generation = generation + 1
    local ok, err = lunaserve.timer.at(delay, tick, generation)
    if ok then
        armed_at = now + delay
    elseif err == "process exiting" then
        stopped = true
    end
    -- (too many pending timers: the next write or stream tries again)
end

-- A write: the stream goes to the end of its list.
local function touch(self)
    local now = lunaserve.now()
    self.last_write = now
    if self.ka_list then
        if self.ka_list.last ~= self then
            unlink(self)
            link(self)
        end
        if not armed_at and not ticking then -- (the last try to arm failed)
            arm(now + self.keepalive)
        end
    end
end

-- Sends a comment to each stream that has been idle for its interval at time now.
local function send_due(now)
    -- (the intervals first: a close listener run from here may add a list)
    local intervals = {}
    for ka in pairs(lists) do
        intervals[#intervals + 1] = ka
    end
    for _, ka in ipairs(intervals) do
        local list = lists[ka] or {}
        -- (a comment puts the stream last with last_write = now, and a stream whose client
        -- has gone leaves the list: this loop ends)
        local slack = math.min(0.001, ka / 2)
        local s = list.first
        while s and s.last_write + ka <= now + slack do
            put(s, ":\n\n")
            s = list.first
        end
    end
end

function tick(premature, gen)
    if gen ~= generation then
        return
    end
    armed_at = nil
    if premature then -- the app reloads or the worker stops: no more keep-alives
        stopped = true
        return
    end
    local now = lunaserve.now()
    ticking = true
    -- (protected: a close listener that raises must not end the keep-alives of the others)
    local ok, err = pcall(send_due, now)
    ticking = false
    local next_due
    for ka, list in pairs(lists) do
        local due = list.first.last_write + ka
        if not next_due or due < next_due then
            next_due = due
        end
    end
    if next_due then
        arm(math.max(next_due, now + MIN_GAP))
    end
    if not ok then
        error(err, 0)
    end
end

function put(self, text)
    if self.closed then
        return nil, "closed"
    end
    local ok, err = self.res:write(text)
    if ok == false and err then -- the response is over or the client gone
        ended(self)
        return nil, "closed"
    end
    touch(self)
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
    local req = res.req
    if req and req.method == "HEAD" then -- the head is the whole answer
        ended(self)
        res:finish()
        return self
    end
    if keepalive then
        link(self)
        arm(self.last_write + keepalive)
    end
    return self
end
