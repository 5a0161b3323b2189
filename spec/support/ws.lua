-- WebSocket helpers for the specs: the opening handshake over a raw spec connection
-- (spec/support/server.lua's Conn), client frames (masked, or not, on purpose), and reading
-- server frames byte-exactly.
local S = require("spec.support.server")

local M = {}

M.APP = S.root .. "/apps/ws-echo"
-- RFC 6455 1.3's example: this key gives this accept value.
M.KEY = "dGhlIHNhbXBsZSBub25jZQ=="
M.ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

-- The handshake request; extra: more header lines ("Name: value\r\n" each), replacing
-- nothing. fields: a table overriding the standard fields (false drops one).
function M.request(target, fields, extra)
    local f = {
        { "Host", "127.0.0.1" },
        { "Upgrade", "websocket" },
        { "Connection", "Upgrade" },
        { "Sec-WebSocket-Key", M.KEY },
        { "Sec-WebSocket-Version", "13" },
    }
    local lines = { "GET " .. (target or "/") .. " HTTP/1.1\r\n" }
    for _, kv in ipairs(f) do
        local v = kv[2]
        if fields and fields[kv[1]] ~= nil then
            v = fields[kv[1]]
        end
        if v then
            lines[#lines + 1] = kv[1] .. ": " .. v .. "\r\n"
        end
    end
    lines[#lines + 1] = (extra or "") .. "\r\n"
    return table.concat(lines)
end

-- The exact 101 the server answers a standard handshake with (Date aside: the caller takes
-- it out with M.strip_date).
M.RESPONSE_101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    .. "Sec-WebSocket-Accept: " .. M.ACCEPT .. "\r\nConnection: Upgrade\r\n\r\n"

function M.strip_date(head)
    return (head:gsub("Date: [^\r]*\r\n", ""))
end

-- Connects and upgrades; returns the connection with the 101 read (asserted exactly).
function M.open(srv, target)
    local c = srv:connect()
    assert(c:send(M.request(target)))
    local head, err = c:read_until("\r\n\r\n", 5)
    if not head or M.strip_date(head) ~= M.RESPONSE_101 then
        error("no 101: " .. tostring(head or err), 2)
    end
    return c
end

-- Opens a WebSocket on target, sends bytes, and reads until the server ends the connection:
-- returns what came before the end and how it ended ("fin" or "reset").
function M.until_end(srv, bytes, target)
    local c = M.open(srv, target)
    assert(c:send(bytes))
    local rest, kind = c:read_until_close(5)
    c:close()
    return rest, kind
end

local function u16(n)
    return string.char(n >> 8 & 255, n & 255)
end

-- A client frame: opcode, payload, fin (default true), mask key (4 bytes; false: unmasked),
-- rsv (bits 4-6 of the first byte).
function M.frame(op, payload, opts)
    opts = opts or {}
    payload = payload or ""
    local fin = opts.fin == nil and true or opts.fin
    local b1 = (fin and 0x80 or 0) | (opts.rsv or 0) << 4 | op
    local len = #payload
    local mask = opts.mask == nil and "\55\250\33\61" or opts.mask
    local mbit = mask and 0x80 or 0
    local hdr
    if len < 126 then
        hdr = string.char(b1, mbit | len)
    elseif len < 65536 then
        hdr = string.char(b1, mbit | 126) .. u16(len)
    else
        hdr = string.char(b1, mbit | 127) .. string.pack(">I8", len)
    end
    if not mask then
        return hdr .. payload
    end
    local out = {}
    for i = 1, len do
        local k = mask:byte((i - 1) % 4 + 1)
        out[i] = string.char(payload:byte(i) ~ k)
    end
    return hdr .. mask .. table.concat(out)
end

function M.close_payload(code, reason)
    return u16(code) .. (reason or "")
end

-- A server frame, exactly what the server should send (never masked).
function M.server_frame(op, payload, fin)
    payload = payload or ""
    local b1 = (fin == false and 0 or 0x80) | op
    local len = #payload
    if len < 126 then
        return string.char(b1, len) .. payload
    elseif len < 65536 then
        return string.char(b1, 126) .. u16(len) .. payload
    end
    return string.char(b1, 127) .. string.pack(">I8", len) .. payload
end

-- Reads one server frame: returns opcode, payload, fin, or nil, err.
function M.read_frame(c, timeout)
    local h, err = c:receive_exact(2, timeout)
    if not h then
        return nil, err
    end
    local b1, b2 = h:byte(1, 2)
    assert(b2 & 0x80 == 0, "a server frame must not be masked")
    local len = b2 & 0x7f
    if len == 126 then
        local e = assert(c:receive_exact(2, timeout))
        len = e:byte(1) << 8 | e:byte(2)
    elseif len == 127 then
        len = string.unpack(">I8", assert(c:receive_exact(8, timeout)))
    end
    local payload = ""
    if len > 0 then
        payload, err = c:receive_exact(len, timeout)
        if not payload then
            return nil, err
        end
    end
    return b1 & 0x0f, payload, b1 & 0x80 ~= 0
end

M.TEXT, M.BINARY, M.CLOSE, M.PING, M.PONG, M.CONT = 1, 2, 8, 9, 10, 0

return M
