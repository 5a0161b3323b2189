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
local E = require("spec.support.sse")

-- an event as one chunk on the wire
local function chunk_of(event, data)
    local body = "event: " .. event .. "\ndata: " .. data .. "\n\n"
    return string.format("%x\r\n%s\r\n", #body, body)
end

-- Opens a stream on PATH and reads its head and its "hello" event.
local function open(srv, path, hello)
    local c = srv:connect()
    assert(c:send(S.get(path)))
    E.read_head(c, 2)
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
    for _, case in ipairs({
        { "a handler looping until exiting() ends its stream", "/loop", "loop", "exiting=true" },
        { "a stream ended by a timer's premature call ends", "/timer", "timer", "premature" },
    }) do
        local what, path, hello, bye = case[1], case[2], case[3], case[4]
        it(what .. " and the process exits promptly", function()
            local c = open(srv, path, hello)
            local t0 = S.now()
            srv:signal("TERM")
            E.assert_ends_at_stop(srv, c, chunk_of("bye", bye) .. "0\r\n\r\n", t0)
        end)
    end

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
