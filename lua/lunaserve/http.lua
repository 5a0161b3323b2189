-- lunaserve.http: an HTTP/1.1 client for handlers and timers, on the cosocket
-- (lunaserve.tcp), so a request waits without blocking the server. Responses are parsed by
-- llhttp (lunaserve.http_parser); connections go back to the cosocket's pool when a
-- response was read to its end and allows it.
--
--   local http = require("lunaserve.http")
--   local res, err = http.request{url = "http://127.0.0.1:8081/x", method = "POST",
--                                 headers = {["Content-Type"] = "text/plain"}, body = "hi",
--                                 timeout = 2000}
--   -- res.status, res.reason, res.headers (lower-cased names), res.raw_headers, res.body
--
-- With `stream = true` the body is not read: res:read() (or res.body_reader()) gives it
-- piece by piece, then nil. A request body may be a function that returns the next piece,
-- then nil: it is sent chunked unless a Content-Length header is given.
local lunaserve = require("lunaserve")
local http_parser = require("lunaserve.http_parser")

local M = {}

M.USER_AGENT = "lunaserve/" .. lunaserve.version

local READ_SIZE = 64 * 1024        -- the most one read takes from the socket
local MAX_BODY = 16 * 1024 * 1024  -- what a one-shot request reads of a body at most
local MAX_HEAD = 64 * 1024         -- the response's status line and fields
local MAX_REDIRECTS = 5
local DISCARD = 64 * 1024          -- a redirect's body read and dropped, to keep the connection

-- RFC 9110 9.2.2: a request with these methods may be repeated
local IDEMPOTENT = { GET = true, HEAD = true, PUT = true, DELETE = true, OPTIONS = true,
    TRACE = true }
local REDIRECT = { [301] = true, [302] = true, [303] = true, [307] = true, [308] = true }

local TOKEN = "^[%w!#$%%&'*+.^_`|~-]+$"

-- the caller's fields that a redirect to another host does not carry
local CREDENTIALS = { host = true, authorization = true, cookie = true,
    ["proxy-authorization"] = true }

local function bad_arg(what, level)
    error("lunaserve.http.request: " .. what, (level or 1) + 2)
end

---------------------------------------------------------------------------------------------
-- URLs
---------------------------------------------------------------------------------------------

-- Splits an http:// URL. Returns {host, port, hostport, target, path} or nil, err.
local function parse_url(url)
    local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
    if not scheme then
        return nil, "invalid URL: " .. url
    end
    scheme = scheme:lower()
    if scheme == "https" then
        return nil, "https is not supported (no TLS yet)"
    elseif scheme ~= "http" then
        return nil, "unsupported URL scheme: " .. scheme
    end
    local authority, target = rest:match("^([^/?#]*)(.*)$")
    target = target:gsub("#.*$", "")
    if target == "" or target:sub(1, 1) == "?" then
        target = "/" .. target
    end
    if target:find("[%c ]") then
        return nil, "invalid URL (spaces or control characters): " .. url
    end
    if authority:find("@", 1, true) then
        return nil, "invalid URL (user info is not supported): " .. url
    end
    local host, port, bracketed
    if authority:sub(1, 1) == "[" then
        host, port = authority:match("^%[([%x:.]+)%]:?(%d*)$")
        bracketed = true
    else
        host, port = authority:match("^([^:]+):?(%d*)$")
    end
    if not host or host == "" then
        return nil, "invalid URL (no host): " .. url
    end
    port = port ~= "" and tonumber(port) or 80
    if port < 1 or port > 65535 then
        return nil, "invalid URL (port): " .. url
    end
    local hostport = bracketed and "[" .. host .. "]" or host
    if port ~= 80 then
        hostport = hostport .. ":" .. port
    end
    return { host = host, port = port, hostport = hostport, target = target,
        path = target:match("^[^?]*") }
end

-- The URL a Location value names, relative to the URL u came from (RFC 3986 5.2, without
-- removing dot segments: the server gets them as they are).
local function resolve(u, loc)
    if loc:match("^%a[%w+.-]*:") then
        return loc
    elseif loc:sub(1, 2) == "//" then
        return "http:" .. loc
    end
    local origin = "http://" .. u.hostport
    if loc:sub(1, 1) == "/" then
        return origin .. loc
    elseif loc == "" then
        return origin .. u.target
    elseif loc:sub(1, 1) == "?" then
        return origin .. u.path .. loc
    end
    return origin .. (u.path:match("^(.*/)") or "/") .. loc
end

---------------------------------------------------------------------------------------------
-- The request
---------------------------------------------------------------------------------------------

-- What the caller's headers say, checked: a list of {name, value} (sorted by name, so that
-- the bytes on the wire do not depend on table order) and which fields we also set.
local function check_headers(headers)
    local list, seen = {}, {}
    if headers == nil then
        return list, seen
    end
    if type(headers) ~= "table" then
        bad_arg("headers must be a table", 3)
    end
    local names = {}
    for name in pairs(headers) do
        if type(name) ~= "string" or not name:match(TOKEN) then
            bad_arg("invalid header name " .. string.format("%q", tostring(name)), 3)
        end
        names[#names + 1] = name
    end
    table.sort(names)
    for _, name in ipairs(names) do
        local v = headers[name]
        local values = type(v) == "table" and v or { v }
        for _, value in ipairs(values) do
            if type(value) == "number" then
                value = tostring(value)
            end
            if type(value) ~= "string" or value:find("[%z\r\n]") then
                bad_arg("invalid value for header " .. name, 3)
            end
            list[#list + 1] = { name, value }
            seen[name:lower()] = value
        end
    end
    return list, seen
end

-- The request's head and, for a string body, the body: an array for sock:send.
local function request_bytes(req, u)
    local out = { req.method, " ", u.target, " HTTP/1.1\r\n" }
    local function field(name, value)
        out[#out + 1] = name
        out[#out + 1] = ": "
        out[#out + 1] = value
        out[#out + 1] = "\r\n"
    end
    if not req.seen.host or req.changed_host then
        field("Host", u.hostport)
    end
    if not req.seen["user-agent"] then
        field("User-Agent", M.USER_AGENT)
    end
    for _, f in ipairs(req.headers) do
        local lname = f[1]:lower()
        -- the framing is ours (a Content-Length of the caller's goes with a body function,
        -- below); Host and credentials only to the host the caller named
        if lname ~= "transfer-encoding" and lname ~= "content-length"
            and not (req.changed_host and CREDENTIALS[lname]) then
            field(f[1], f[2])
        end
    end
    local body = req.body
    if type(body) == "string" then
        field("Content-Length", #body)
    elseif type(body) == "function" then
        if req.length then
            field("Content-Length", req.length)
        else
            field("Transfer-Encoding", "chunked")
        end
    elseif req.method == "POST" or req.method == "PUT" or req.method == "PATCH" then
        field("Content-Length", "0") -- RFC 9110 8.6: a body is expected; say it is empty
    end
    if req.close then
        field("Connection", "close")
    end
    out[#out + 1] = "\r\n"
    if type(body) == "string" and body ~= "" then
        out[#out + 1] = body
    end
    return out
end

-- Sends a body function's pieces: chunked, or as they are under the caller's
-- Content-Length (which they must add up to). Returns true or nil, err.
local function send_body(sock, req)
    local sent = 0
    while true do
        local ok, piece, perr = pcall(req.body)
        if not ok then
            sock:close()
            error(piece, 0)
        end
        if piece == nil then
            if perr ~= nil then
                sock:close()
                return nil, "request body: " .. tostring(perr)
            end
            break
        end
        if type(piece) == "number" then
            piece = tostring(piece)
        end
        if type(piece) ~= "string" then
            sock:close()
            error("lunaserve.http.request: the body function returned a "
                .. type(piece) .. " (strings expected)", 0)
        end
        if piece ~= "" then
            sent = sent + #piece
            local _, err
            if req.length then
                if sent > req.length then
                    sock:close()
                    return nil, "request body longer than its Content-Length"
                end
                _, err = sock:send(piece)
            else
                _, err = sock:send({ string.format("%x\r\n", #piece), piece, "\r\n" })
            end
            if err then
                sock:close()
                return nil, err
            end
        end
    end
    if req.length then
        if sent ~= req.length then
            sock:close()
            return nil, "request body shorter than its Content-Length"
        end
        return true
    end
    local _, err = sock:send("0\r\n\r\n")
    if err then
        sock:close()
        return nil, err
    end
    return true
end

---------------------------------------------------------------------------------------------
-- The response
---------------------------------------------------------------------------------------------

-- One response being read: the socket, its parser and what the options say about the
-- connection's end.
local Reader = {}
Reader.__index = Reader

-- The response has ended: the connection goes back to the pool if the response allows it
-- (and nothing came after it), else it is closed.
function Reader:release()
    local sock = self.sock
    self.sock = nil
    if not sock then
        return
    end
    if self.keepalive and self.p:keepalive() and self.extra == 0 then
        if sock:setkeepalive(self.idle, self.pool_size) then
            return
        end
    end
    sock:close()
end

function Reader:fail(err)
    if self.sock then
        self.sock:close()
        self.sock = nil
    end
    self.err = err
    return nil, err
end

-- The next piece of the body, nil at its end, or nil, err.
function Reader:read()
    if self.err then
        return nil, self.err
    end
    local pending = self.pending
    if pending then
        self.pending = nil
        if pending ~= "" then
            return pending
        end
    end
    while not self.done do
        if not self.sock then
            return nil, "closed"
        end
        local data, err = self.sock:receiveany(READ_SIZE)
        if not data then
            if err == "closed" then
                -- the end of a body read until close; anything else is cut short
                if self.p:finish() then
                    self.done, self.extra = true, 0
                    self:release()
                    return nil
                end
            end
            return self:fail(err)
        end
        local body, done, extra = self.p:feed(data)
        if not body then
            return self:fail("invalid response: " .. done)
        end
        if done then
            self.done, self.extra = true, extra
            self:release()
        end
        if body ~= "" then
            return body
        end
    end
    return nil
end

-- Leaves the rest of the body unread: the connection is closed (unless the body has ended).
function Reader:close()
    if not self.done and not self.err then
        self:fail("closed")
    end
end

-- The whole body, at most `max` bytes. Returns it, or nil, err.
function Reader:all(max)
    local parts, n = {}, 0
    while true do
        local piece, err = self:read()
        if not piece then
            if err then
                return nil, err
            end
            return table.concat(parts)
        end
        n = n + #piece
        if n > max then
            return self:fail("response body too large")
        end
        parts[#parts + 1] = piece
    end
end

---------------------------------------------------------------------------------------------
-- One exchange
---------------------------------------------------------------------------------------------

-- Sends the request on a connection to u and reads the response's head. Returns a Reader
-- and the head, or nil, err, retry (retry: the connection was a reused one that turned out
-- closed before any byte of the response came, and the request may be sent again).
local function exchange(req, u)
    local sock = lunaserve.tcp()
    sock:settimeouts(req.connect_timeout, req.send_timeout, req.read_timeout)
    local ok, err = sock:connect(u.host, u.port, req.connect_opts)
    if not ok then
        return nil, err
    end
    local reused = sock:getreusedtimes() or 0
    local may_retry = reused > 0 and req.replayable
    local _
    _, err = sock:send(request_bytes(req, u))
    if err then
        sock:close()
        return nil, err, may_retry and err ~= "timeout"
    end
    if type(req.body) == "function" then
        ok, err = send_body(sock, req)
        if not ok then
            return nil, err
        end
    end
    local p = http_parser.new(req.method == "HEAD", req.max_head)
    while true do
        local data, rerr = sock:receiveany(READ_SIZE)
        if not data then
            sock:close()
            if not p:started() and rerr ~= "timeout" then
                return nil, rerr, may_retry
            end
            return nil, rerr
        end
        local body, done, extra = p:feed(data)
        if not body then
            sock:close()
            return nil, "invalid response: " .. done
        end
        local head = p:head()
        if head then
            local r = setmetatable({ sock = sock, p = p, pending = body, done = done,
                extra = extra, keepalive = not req.close, idle = req.keepalive_timeout,
                pool_size = req.keepalive_pool, reused = reused }, Reader)
            if done then
                r:release()
            end
            return r, head
        end
    end
end

-- exchange, and once more on a new connection when that is safe.
local function exchange_retrying(req, u)
    local r, head, retry = exchange(req, u)
    if not r and retry then
        r, head = exchange(req, u)
    end
    return r, head
end

---------------------------------------------------------------------------------------------
-- The API
---------------------------------------------------------------------------------------------

local Response = {}
Response.__index = Response

-- res:read(): the next piece of a streamed body, nil at its end, or nil, err.
function Response:read()
    return self._reader:read()
end

-- res:close(): the rest of a streamed body is not wanted (the connection closes).
function Response:close()
    return self._reader:close()
end

local function build_request(opts)
    if type(opts) == "string" then
        opts = { url = opts }
    elseif type(opts) ~= "table" then
        bad_arg("a table of options (or a URL) expected", 2)
    end
    if type(opts.url) ~= "string" then
        bad_arg("url must be a string", 2)
    end
    local method = opts.method or "GET"
    if type(method) ~= "string" or not method:match(TOKEN) then
        bad_arg("invalid method", 2)
    end
    local body = opts.body
    if body ~= nil and type(body) ~= "string" and type(body) ~= "function" then
        bad_arg("body must be a string or a function", 2)
    end
    local headers, seen = check_headers(opts.headers)
    local length
    if type(body) == "function" and seen["content-length"] then
        length = tonumber(seen["content-length"])
        if not length or length < 0 or length % 1 ~= 0 then
            bad_arg("invalid Content-Length", 2)
        end
    end
    local function ms(name)
        local v = opts[name]
        if v ~= nil and (type(v) ~= "number" or v < 0) then
            bad_arg(name .. " must be a number of milliseconds", 3)
        end
        return v
    end
    local timeout = ms("timeout")
    local connect_opts
    if opts.pool or opts.pool_size or opts.backlog then
        connect_opts = { pool = opts.pool, pool_size = opts.pool_size, backlog = opts.backlog }
    end
    local conn = seen.connection and seen.connection:lower() or ""
    local max_redirects = 0
    if opts.follow_redirects or opts.max_redirects then
        max_redirects = opts.max_redirects or MAX_REDIRECTS
    end
    return {
        url = opts.url,
        method = method,
        headers = headers,
        seen = seen,
        body = body,
        length = length,
        -- a body function cannot be sent twice
        replayable = IDEMPOTENT[method] and type(body) ~= "function",
        connect_timeout = ms("connect_timeout") or timeout,
        send_timeout = ms("send_timeout") or timeout,
        read_timeout = ms("read_timeout") or timeout,
        connect_opts = connect_opts,
        close = opts.keepalive == false or conn:find("close", 1, true) ~= nil,
        keepalive_timeout = ms("keepalive_timeout"),
        keepalive_pool = opts.keepalive_pool,
        max_head = opts.max_head or MAX_HEAD,
        max_body = opts.max_body or MAX_BODY,
        stream = opts.stream,
        max_redirects = max_redirects,
    }
end

-- The request a redirect leads to: after 301, 302 and 303 a GET without a body (HEAD stays
-- HEAD), as browsers and most clients do (RFC 9110 15.4 allows it for 301/302 and asks it
-- for 303); after 307 and 308 the same method and body, which a body function cannot give
-- twice (nil: the redirect is then the answer).
local function redirected(req, status)
    local nreq = {}
    for k, v in pairs(req) do
        nreq[k] = v
    end
    if status == 301 or status == 302 or status == 303 then
        if req.method ~= "HEAD" then
            nreq.method = "GET"
        end
        nreq.body = nil
        nreq.length = nil
        nreq.replayable = IDEMPOTENT[nreq.method]
        local headers = {} -- the fields that described the body go with it
        for _, f in ipairs(req.headers) do
            if not f[1]:lower():find("^content%-") then
                headers[#headers + 1] = f
            end
        end
        nreq.headers = headers
        return nreq
    end
    if type(req.body) == "function" then
        return nil
    end
    return nreq
end

-- http.request(opts): see the top of this file and the README ("HTTP client").
function M.request(opts)
    local req = build_request(opts)
    local url, redirects = req.url, 0
    local u0
    while true do
        local u, err = parse_url(url)
        if not u then
            return nil, err
        end
        u0 = u0 or u
        if u.hostport ~= u0.hostport then
            req.changed_host = true
        end
        local r, head = exchange_retrying(req, u)
        if not r then
            return nil, head
        end
        local location = head.headers.location
        local nreq = REDIRECT[head.status] and location and redirects < req.max_redirects
            and redirected(req, head.status)
        if nreq then
            -- the redirect's own body is dropped (read, to keep the connection, if short)
            local _, derr = r:all(DISCARD)
            if derr then
                r:close()
            end
            redirects = redirects + 1
            req = nreq
            url = resolve(u, location)
        elseif REDIRECT[head.status] and location and req.max_redirects > 0
            and redirects >= req.max_redirects then
            r:close()
            return nil, "too many redirects"
        else
            local res = setmetatable({
                status = head.status,
                reason = head.reason,
                version = head.version,
                headers = head.headers,
                raw_headers = head.raw_headers,
                trailers = head.trailers,
                url = url,
                redirects = redirects,
                reused = r.reused,
                _reader = r,
            }, Response)
            if req.stream then
                res.body_reader = function()
                    return r:read()
                end
                return res
            end
            local body, berr = r:all(req.max_body)
            if not body then
                return nil, berr
            end
            res.body = body
            return res
        end
    end
end

return M
