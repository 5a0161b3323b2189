-- A scripted HTTP upstream for the HTTP client's specs: a plain TCP server (lua-socket, one
-- process, a select loop) on 127.0.0.1 that misbehaves on request. Run as a process:
--
--   lua5.4 spec/support/faulty_upstream.lua DIR
--
-- It writes its port to DIR/port, and one line per event to DIR/log: "conn C" when
-- connection C is accepted, "request C N METHOD TARGET BODYLEN" for request N on it, "eof C"
-- when the client ends it, "close C" / "reset C" when this server does. What it does with a
-- request depends on the path:
--
--   /ok               200 "conn C req N" (keep-alive)
--   /ok-then-close    the same, then a FIN right after (the client may have pooled it)
--   /close-on-reuse   /ok on a connection's first request; a later one is read, then the
--                     connection is closed (FIN) without an answer
--   /reset-on-reuse   the same with a reset
--   /silent           read, never answered
--   /stall-head       part of a head, then nothing
--   /stall-body       a head with Content-Length: 100 and 10 bytes, then nothing
--   /reset            a reset at once
--   /reset-mid-body   a head with Content-Length: 100 and 10 bytes, then a reset 0.2 s later
--                     (later, so that the client reads the bytes first: a reset that comes
--                     with them can reach it as a plain end, libuv's EOF on POLLHUP)
--   /malformed        "HTTP/1.1 2x0 OK", then a FIN
--   /huge             Content-Length: 100 MB of "x", sent as fast as the client reads; when
--                     the connection ends, "huge C BYTES" logs how much of it was handed to
--                     the kernel
--   /until-close      a body without length, ended by a FIN
--   /extra            Content-Length: 2 "ok" and 5 bytes more
--   /interim          100 Continue, 103 Early Hints, then 200 "final"
--   /echo-raw         200 with the whole request as received (head and body bytes)
--   /trailers         a chunked body "hello world" with the trailer field X-Sum: 42
--   /big-head         a head of about 100 KiB of fields
--   /head-chunked     the head a HEAD request gets for a chunked body (no body follows)
--
-- The process ends by itself after 300 s, in case the spec that started it could not stop it.
local socket = require("socket")

local dir = assert(arg[1], "usage: faulty_upstream.lua DIR")
local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(0)
local _, port = server:getsockname()

local logf = assert(io.open(dir .. "/log", "a"))
local function log(...)
    logf:write(table.concat({ ... }, " "), "\n")
    logf:flush()
end

do -- the port last: once it is there, the server is listening and the log open
    local f = assert(io.open(dir .. "/port.tmp", "w"))
    f:write(port, "\n")
    f:close()
    assert(os.rename(dir .. "/port.tmp", dir .. "/port"))
end

local HUGE = 100 * 1024 * 1024
local PIECE = string.rep("x", 64 * 1024)

local conns = {}   -- socket -> conn
local nconns = 0

-- A /huge connection's end: how much of the body went out.
local function log_huge(c)
    if c.stream_left then
        log("huge", c.id, HUGE - c.stream_left - (c.out[1] and #c.out[1] - ((c.sent_pos or 1) - 1) or 0))
    end
end

local function close(c, reset)
    if c.closed then
        return
    end
    log_huge(c)
    c.closed = true
    if reset then
        c.sock:setoption("linger", { on = true, timeout = 0 })
    end
    c.sock:close()
    conns[c.sock] = nil
    log(reset and "reset" or "close", c.id)
end

-- Queues data; `after` ("close" or "reset") what to do once it is sent, `delay` seconds
-- later.
local function send(c, data, after, delay)
    c.out[#c.out + 1] = data
    c.after = after
    c.after_delay = delay
end

local function response(status, body, extra_fields)
    return "HTTP/1.1 " .. status .. "\r\nContent-Length: " .. #body .. "\r\n"
        .. (extra_fields or "") .. "\r\n" .. body
end

local routes = {}

routes["/ok"] = function(c)
    send(c, response("200 OK", "conn " .. c.id .. " req " .. c.nreq))
end

routes["/ok-then-close"] = function(c)
    send(c, response("200 OK", "conn " .. c.id .. " req " .. c.nreq), "close")
end

routes["/close-on-reuse"] = function(c)
    if c.nreq == 1 then
        return routes["/ok"](c)
    end
    close(c)
end

routes["/reset-on-reuse"] = function(c)
    if c.nreq == 1 then
        return routes["/ok"](c)
    end
    close(c, true)
end

routes["/silent"] = function(c)
    c.hold = true
end

routes["/stall-head"] = function(c)
    send(c, "HTTP/1.1 200 OK\r\nContent-Le")
    c.hold = true
end

routes["/stall-body"] = function(c)
    send(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
    c.hold = true
end

routes["/reset"] = function(c)
    close(c, true)
end

routes["/reset-mid-body"] = function(c)
    send(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", "reset", 0.2)
end

routes["/malformed"] = function(c)
    send(c, "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", "close")
end

routes["/huge"] = function(c)
    send(c, "HTTP/1.1 200 OK\r\nContent-Length: " .. HUGE .. "\r\n\r\n")
    c.stream_left = HUGE
end

routes["/until-close"] = function(c)
    send(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until close", "close")
end

routes["/extra"] = function(c)
    send(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")
end

routes["/interim"] = function(c)
    send(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
        .. response("200 OK", "final"))
end

routes["/echo-raw"] = function(c, raw)
    send(c, response("200 OK", raw))
end

routes["/trailers"] = function(c)
    send(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
        .. "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n")
end

routes["/head-chunked"] = function(c)
    send(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
end

routes["/big-head"] = function(c)
    send(c, "HTTP/1.1 200 OK\r\n" .. string.rep("X-Filler: " .. string.rep("f", 90) .. "\r\n",
        1000) .. "Content-Length: 0\r\n\r\n")
end

-- Takes one whole request from c.buf, if there is one: its raw bytes, method, target and
-- body.
local function take_request(c)
    local e = c.buf:find("\r\n\r\n", 1, true)
    if not e then
        return nil
    end
    local head = c.buf:sub(1, e + 3)
    local method, target = head:match("^(%S+) (%S+) HTTP/1%.%d\r\n")
    local lower = head:lower()
    local pos = e + 4
    local body
    if lower:find("\ntransfer%-encoding:[ \t]*chunked") then
        local parts = {}
        while true do
            local line_end = c.buf:find("\r\n", pos, true)
            if not line_end then
                return nil
            end
            local size = tonumber(c.buf:sub(pos, line_end - 1):match("^%x+"), 16)
            if not size then
                return nil
            end
            if size == 0 then
                local t_end = c.buf:find("\r\n\r\n", line_end, true)
                if not t_end then
                    return nil
                end
                pos = t_end + 4
                break
            end
            if #c.buf < line_end + 2 + size + 2 - 1 then
                return nil
            end
            parts[#parts + 1] = c.buf:sub(line_end + 2, line_end + 1 + size)
            pos = line_end + 2 + size + 2
        end
        body = table.concat(parts)
    else
        local len = tonumber(lower:match("\ncontent%-length:[ \t]*(%d+)") or "0")
        if #c.buf < pos + len - 1 then
            return nil
        end
        body = c.buf:sub(pos, pos + len - 1)
        pos = pos + len
    end
    local raw = c.buf:sub(1, pos - 1)
    c.buf = c.buf:sub(pos)
    return raw, method or "?", target or "?", body
end

local function on_input(c)
    while not c.hold and not c.closed do
        local raw, method, target, body = take_request(c)
        if not raw then
            return
        end
        c.nreq = c.nreq + 1
        log("request", c.id, c.nreq, method, target, #body)
        local route = routes[target:match("^[^?]*")]
        if route then
            route(c, raw)
        else
            send(c, response("404 Not Found", "no such route"))
        end
    end
end

local function pending(c)
    return #c.out > 0 or (c.stream_left and c.stream_left > 0)
end

local function on_writable(c)
    if #c.out == 0 and c.stream_left and c.stream_left > 0 then
        local n = math.min(#PIECE, c.stream_left)
        c.out[1] = n == #PIECE and PIECE or PIECE:sub(1, n)
        c.stream_left = c.stream_left - n
    end
    local data = c.out[1]
    local last, err, partial = c.sock:send(data, c.sent_pos or 1)
    if last then
        table.remove(c.out, 1)
        c.sent_pos = nil
    elseif err == "timeout" then
        c.sent_pos = partial + 1
        return
    else
        log("send-error", c.id, err)
        return close(c)
    end
    if not pending(c) and c.after then
        if c.after_delay then
            c.close_at = socket.gettime() + c.after_delay
        else
            close(c, c.after == "reset")
        end
    end
end

local deadline = socket.gettime() + 300
while socket.gettime() < deadline do
    local recvt, sendt = { server }, {}
    for s, c in pairs(conns) do
        recvt[#recvt + 1] = s
        if pending(c) then
            sendt[#sendt + 1] = s
        end
    end
    local readable, writable = socket.select(recvt, sendt, 0.05)
    local now = socket.gettime()
    for _, c in pairs(conns) do
        if c.close_at and now >= c.close_at then
            close(c, c.after == "reset")
        end
    end
    for _, s in ipairs(readable) do
        if s == server then
            local cs = server:accept()
            if cs then
                cs:settimeout(0)
                nconns = nconns + 1
                conns[cs] = { sock = cs, id = nconns, nreq = 0, buf = "", out = {} }
                log("conn", nconns)
            end
        else
            local c = conns[s]
            if c then
                local data, err, partial = s:receive(65536)
                data = data or partial
                if data and data ~= "" then
                    c.buf = c.buf .. data
                    on_input(c)
                end
                if err == "closed" and not c.closed then
                    log_huge(c)
                    log("eof", c.id)
                    c.closed = true
                    s:close()
                    conns[s] = nil
                end
            end
        end
    end
    for _, s in ipairs(writable) do
        local c = conns[s]
        if c and not c.closed then
            on_writable(c)
        end
    end
end
