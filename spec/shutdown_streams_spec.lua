-- Long-lived streams at SIGTERM (README, "Timers and time"): the stop marks the code as exiting
-- and gives every pending timer its premature call as soon as it begins, not once the
-- connections have drained. A server-sent event stream whose handler loops until
-- lunaserve.exiting(), or that a timer's premature call ends, sends its last event and its
-- chunked terminator, the connection ends with a FIN, and the process exits well before a
-- large --shutdown-timeout (30 s here). An ordinary request in flight still finishes.
--
-- spec/apps/sse_shutdown.lua: /loop (ends on exiting()), /timer (ended by a premature call),
-- /slow?ms= (an ordinary request).

local S = require("spec.support.server")

local HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    .. "Date: %s\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
    .. "Keep-Alive: timeout=5\r\n\r\n"

-- an event as one chunk on the wire
local function chunk_of(event, data)
    local body = "event: " .. event .. "\ndata: " .. data .. "\n\n"
    return string.format("%x\r\n%s\r\n", #body, body)
end

-- Opens a stream on PATH and reads its head and its "hello" event.
local function open(srv, path, hello)
    local c = srv:connect()
    assert(c:send(S.get(path)))
    local head = assert(c:read_until("\r\n\r\n", 2))
    assert.are.equal(string.format(HEAD, tostring(head:match("\r\nDate: ([^\r]+)\r\n"))), head)
    local first = chunk_of("hello", hello)
    assert.are.equal(first, assert(c:receive_exact(#first, 2)))
    return c
end

describe("streams when the worker stops", function()
    local srv

    before_each(function()
        srv = S.start({ app = S.app("sse_shutdown.lua"), args = { "--shutdown-timeout", "30" } })
    end)

    after_each(function()
        if srv then
            srv:stop()
        end
        srv = nil
    end)

    -- After SIGTERM: the stream's last event, its terminator, then a FIN; the exit follows.
    local function assert_ends(c, bye, t0)
        local data, kind = c:read_until_close(5)
        local took = S.now() - t0
        assert.are.equal(chunk_of("bye", bye) .. "0\r\n\r\n", data)
        assert.are.equal("fin", kind)
        assert.is_true(took < 2, "the stream ended " .. took .. " s after SIGTERM")
        c:close()
        local waited = srv:assert_clean_exit(5)
        assert.is_true(S.now() - t0 < 5, "exited " .. (S.now() - t0) .. " s after SIGTERM, "
            .. waited .. " s after the stream ended")
    end

    it("a handler looping until exiting() ends its stream and the process exits promptly",
        function()
            local c = open(srv, "/loop", "loop")
            local t0 = S.now()
            srv:signal("TERM")
            assert_ends(c, "exiting=true", t0)
        end)

    it("a stream ended by a timer's premature call ends and the process exits promptly",
        function()
            local c = open(srv, "/timer", "timer")
            local t0 = S.now()
            srv:signal("TERM")
            assert_ends(c, "premature", t0)
        end)

    it("an ordinary request in flight still gets its whole response", function()
        local a, b = open(srv, "/loop", "loop"), open(srv, "/timer", "timer")
        local slow = srv:connect()
        assert(slow:send(S.get("/slow?ms=800")))
        S.sleep(0.15)
        local t0 = S.now()
        srv:signal("TERM")
        local data, kind = a:read_until_close(5)
        assert.are.equal(chunk_of("bye", "exiting=true") .. "0\r\n\r\n", data)
        assert.are.equal("fin", kind)
        data, kind = b:read_until_close(5)
        assert.are.equal(chunk_of("bye", "premature") .. "0\r\n\r\n", data)
        assert.are.equal("fin", kind)
        a:close()
        b:close()
        local res = assert(slow:read_response({ timeout = 3 }))
        assert.are.equal(200, res.status)
        assert.are.equal("slow done", res.body)
        assert.is_true(res:has_token("Connection", "close"), res.raw_head)
        assert.is_true(S.now() - t0 >= 0.5, "the slow request was cut short")
        assert.are.equal("fin", (slow:wait_close(1)))
        slow:close()
        srv:assert_clean_exit(3)
        assert.is_true(S.now() - t0 < 5, "exited " .. (S.now() - t0) .. " s after SIGTERM")
    end)
end)
