-- Test support for the lunaserve.sse specs: the app spec/apps/sse.lua served by lunaserve,
-- and the reads they share (a stream's exact head, one chunk of its body).
--
--   local E = require("spec.support.sse")
--   local sse = E.start()              -- sse.srv is the server (sse.srv:stop_ok() at the end)
--   local c = sse.open("name", ka)     -- a stream, its head checked to the byte
--   sse.chunk(c)                       -- the data of its next chunk
--   sse.state()                        -- the app's /state as a table
local S = require("spec.support.server")
local luassert = require("luassert")

local E = {}

E.HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    .. "Date: %s\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
    .. "Keep-Alive: timeout=5\r\n\r\n"

function E.start()
    local self = { srv = S.start({ app = S.app("sse.lua") }) }
    local srv = self.srv

    function self.get(path)
        return assert(srv:fetch(S.get(path))).body
    end

    function self.state()
        return S.parse_kv(self.get("/state"))
    end

    -- opens a stream (keep-alive interval ka, 0: none) and reads its head
    function self.open(name, ka)
        local c = srv:connect()
        assert(c:send(S.get("/events?name=" .. name .. "&ka=" .. (ka or 0))))
        local head = assert(c:read_until("\r\n\r\n", 1))
        luassert.are.equal(string.format(E.HEAD, tostring(head:match("\r\nDate: ([^\r]+)\r\n"))),
            head)
        return c
    end

    -- reads one chunk: its data
    function self.chunk(c, timeout)
        local line = assert(c:read_until("\r\n", timeout or 1))
        local n = assert(tonumber(line:match("^(%x+)\r\n$"), 16), line)
        local data = assert(c:receive_exact(n + 2, 1))
        luassert.are.equal("\r\n", data:sub(-2))
        return data:sub(1, -3)
    end

    return self
end

return E
