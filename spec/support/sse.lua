-- Test support for the lunaserve.sse specs: the app spec/apps/sse.lua served by lunaserve,
-- and the reads they share (a stream's exact head, one chunk of its body, its end at a stop).
--
--   local E = require("spec.support.sse")
--   local sse = E.start()              -- sse.srv is the server (sse.srv:stop_ok() at the end)
--   local c = sse.open("name", ka)     -- a stream, its head checked to the byte
--   sse.chunk(c)                       -- the data of its next chunk
--   sse.state()                        -- the app's /state as a table
--   E.read_head(c, timeout[, fmt])     -- any stream's head, checked to the byte
--   E.assert_ends_at_stop(srv, c, want, t0)  -- after SIGTERM: want, a FIN, a clean exit
local S = require("spec.support.server")
local luassert = require("luassert")

local E = {}

E.HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    .. "Date: %s\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
    .. "Keep-Alive: timeout=5\r\n\r\n"

-- Reads a stream's head from c (within `timeout` seconds) and checks it to the byte against
-- `fmt` (E.HEAD by default; %s: its own Date, the one field that varies).
function E.read_head(c, timeout, fmt)
    local head = assert(c:read_until("\r\n\r\n", timeout))
    local date = tostring(head:match("\r\nDate: ([^\r]+)\r\n"))
    luassert.are.equal(string.format(fmt or E.HEAD, date), head)
    return head
end

-- After SIGTERM at t0: the rest of the stream on c is `want`, then a FIN, within 2 s; c is
-- closed, and the server exits cleanly (status 0, no sanitizer report) within 5 s of t0.
function E.assert_ends_at_stop(srv, c, want, t0)
    local data, kind = c:read_until_close(5)
    local took = S.now() - t0
    luassert.are.equal(want, data)
    luassert.are.equal("fin", kind)
    luassert.is_true(took < 2, "the stream ended " .. took .. " s after SIGTERM")
    c:close()
    local waited = srv:assert_clean_exit(5)
    luassert.is_true(S.now() - t0 < 5, "exited " .. (S.now() - t0) .. " s after SIGTERM, "
        .. waited .. " s after the stream ended")
end

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
        E.read_head(c, 1)
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
