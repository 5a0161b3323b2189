-- Test support for apps/chat's specs: WebSocket (GET /ws) and event stream (GET /events)
-- clients over raw spec connections, checked to the byte, and POST /messages.
--
--   local C = require("spec.support.chat")
--   local c, pid = C.ws_open(srv[, "/ws?after=3"])  -- the 101 checked; pid: X-Chat-Worker
--   C.next_json(c)            -- the next frame: text holding JSON, decoded
--   C.say(c, '{"name":..}')   -- a text frame from the client
--   local s, pid = C.sse_open(srv); C.next_event(s)  -- a stream; its next message
--   C.post_ok(srv, name, text)  -- POST /messages, 201 checked: the message
--   C.assert_quiet(c); C.leave(c)  -- nothing more arrives; the client's close, echo, FIN
local S = require("spec.support.server")
local W = require("spec.support.ws")
local cjson = require("cjson")
local luassert = require("luassert")

local C = {}

C.APP = S.root .. "/apps/chat"

-- The 101, to the byte (Date aside); %s: the worker's process id.
C.HEAD_101 = "HTTP/1.1 101 Switching Protocols\r\nX-Chat-Worker: %s\r\n"
    .. "Upgrade: websocket\r\nSec-WebSocket-Accept: " .. W.ACCEPT .. "\r\n"
    .. "Connection: Upgrade\r\n\r\n"

-- Upgrades a connection to GET target (/ws by default): the connection and the worker's pid.
function C.ws_open(srv, target)
    local c = srv:connect()
    assert(c:send(W.request(target or "/ws")))
    local head = assert(c:read_until("\r\n\r\n", 5))
    head = W.strip_date(head)
    local pid = head:match("\r\nX%-Chat%-Worker: (%d+)\r\n")
    luassert.are.equal(C.HEAD_101:format(tostring(pid)), head)
    return c, pid
end

-- The next frame, which must be a text frame holding JSON: the value.
function C.next_json(c)
    local op, payload = W.read_frame(c, 5)
    luassert.are.equal(W.TEXT, op, tostring(payload))
    return cjson.decode(payload)
end

function C.say(c, s)
    assert(c:send(W.frame(W.TEXT, s)))
end

-- An event stream (GET /events): the connection, its head and first comment read.
function C.sse_open(srv)
    local c = srv:connect()
    assert(c:send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"))
    local head = assert(c:read_head(5))
    luassert.are.equal(200, head.status)
    luassert.are.equal("text/event-stream", head:header("Content-Type"))
    local pid = assert(c:read_chunk(5)):match("^: worker (%d+)\n\n$")
    luassert.is_truthy(pid)
    return c, pid
end

-- The next event of a stream: the message it carries (its id checked against the data's).
function C.next_event(c)
    local chunk = assert(c:read_chunk(5))
    local id, data = chunk:match("^event: message\nid: (%d+)\ndata: ([^\n]*)\n\n$")
    luassert.is_truthy(id, chunk)
    local msg = cjson.decode(data)
    luassert.are.equal(tonumber(id), msg.id)
    return msg
end

function C.post(srv, body)
    local c = srv:connect()
    assert(c:send("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        .. "Content-Length: " .. #body .. "\r\n\r\n" .. body))
    local r = assert(c:read_response({ timeout = 5 }))
    c:close()
    return r
end

-- Posts with POST /messages; returns the message (201 checked).
function C.post_ok(srv, name, text)
    local r = C.post(srv, cjson.encode({ name = name, text = text }))
    luassert.are.equal(201, r.status, r.body)
    return cjson.decode(r.body)
end

-- Nothing more arrives on c within a short while.
function C.assert_quiet(c)
    local open, why = c:is_open(0.3)
    luassert.is_true(open, "got " .. tostring(why) .. ": " .. c:discard())
end

-- The client's close (1000), its echo, then FIN.
function C.leave(c)
    assert(c:send(W.frame(W.CLOSE, W.close_payload(1000))))
    local want = W.server_frame(W.CLOSE, W.close_payload(1000))
    luassert.are.equal(want, c:receive_exact(#want, 5))
    local rest, kind = c:read_until_close(5)
    luassert.are.equal("", rest)
    luassert.are.equal("fin", kind)
    c:close()
end

return C
