-- apps/chat at SIGTERM (README, "Bundled apps"; the stop as in spec/shutdown_streams_spec.lua):
-- an open GET /events stream (as `curl -N /events` holds) ends cleanly as soon as the stop
-- begins, ended by the app's premature timer call, and the process exits well before a large
-- --shutdown-timeout. A WebSocket (GET /ws) gets one close 1001: one that answers is ended
-- with a FIN at once, one that never answers is dropped after the app's close timeout (5 s),
-- and the process exits then, long before the shutdown timeout. In one process, without a
-- database.
local S = require("spec.support.server")
local E = require("spec.support.sse")
local W = require("spec.support.ws")
local cjson = require("cjson")

-- A WebSocket on /ws that has read its history (a message posted first): its handler is in
-- the room and waits in recv_frame.
local function ws_ready(srv)
    local p = srv:connect()
    local body = '{"name":"ann","text":"seed"}'
    assert(p:send("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        .. "Content-Length: " .. #body .. "\r\n\r\n" .. body))
    local r = assert(p:read_response({ timeout = 5 }))
    assert.are.equal(201, r.status, r.body)
    p:close()
    local c = srv:connect()
    assert(c:send(W.request("/ws")))
    local head = assert(c:read_until("\r\n\r\n", 5))
    assert.is_truthy(head:find("^HTTP/1%.1 101 Switching Protocols\r\n"), head)
    local op, payload = W.read_frame(c, 5)
    assert.are.equal(W.TEXT, op)
    assert.are.same(cjson.decode(r.body), cjson.decode(payload))
    return c
end

describe("apps/chat when the worker stops", function()
    local srv

    after_each(function()
        if srv then
            srv:stop()
        end
        srv = nil
    end)

    it("ends an open event stream with its terminator and a FIN, and exits promptly", function()
        srv = S.start({ app = S.root .. "/apps/chat", args = { "--shutdown-timeout", "30" } })
        local c = srv:connect()
        assert(c:send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"))
        local head = assert(c:read_head(3))
        assert.are.equal(200, head.status)
        assert.are.equal("text/event-stream", head:header("Content-Type"))
        assert.are.equal("chunked", head:header("Transfer-Encoding"))
        assert.are.equal(": worker " .. srv.pid .. "\n\n", assert(c:read_chunk(3)))
        local t0 = S.now()
        srv:signal("TERM")
        E.assert_ends_at_stop(srv, c, "0\r\n\r\n", t0)
    end)

    it("sends 1001 to a WebSocket, ends it with a FIN once it answers, and exits promptly", function()
        srv = S.start({ app = S.root .. "/apps/chat", args = { "--shutdown-timeout", "30" } })
        local c = ws_ready(srv)
        local t0 = S.now()
        srv:signal("TERM")
        local want = W.server_frame(W.CLOSE, W.close_payload(1001))
        assert.are.equal(want, c:receive_exact(#want, 2))
        assert(c:send(W.frame(W.CLOSE, W.close_payload(1001))))
        local rest, kind = c:read_until_close(2)
        assert.are.equal("", rest) -- one close frame, nothing after it
        assert.are.equal("fin", kind)
        assert.is_true(S.now() - t0 < 2, "the WebSocket ended " .. (S.now() - t0) .. " s after SIGTERM")
        c:close()
        srv:assert_clean_exit(5)
        assert.is_true(S.now() - t0 < 3, "exited " .. (S.now() - t0) .. " s after SIGTERM")
    end)

    it("drops a WebSocket that never answers the 1001 after the close timeout, then exits", function()
        srv = S.start({ app = S.root .. "/apps/chat", args = { "--shutdown-timeout", "30" } })
        local c = ws_ready(srv)
        local t0 = S.now()
        srv:signal("TERM")
        local want = W.server_frame(W.CLOSE, W.close_payload(1001))
        assert.are.equal(want, c:receive_exact(#want, 2))
        local rest, kind = c:read_until_close(8) -- (we do not answer)
        local took = S.now() - t0
        assert.are.equal("", rest)
        assert.are.equal("fin", kind)
        assert.is_true(took > 4.5 and took < 6.5, "dropped " .. took .. " s after SIGTERM")
        c:close()
        srv:assert_clean_exit(5)
        assert.is_true(S.now() - t0 < 7, "exited " .. (S.now() - t0) .. " s after SIGTERM")
    end)
end)
