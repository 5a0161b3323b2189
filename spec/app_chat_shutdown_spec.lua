-- apps/chat at SIGTERM (README, "Bundled apps"; the stop as in spec/shutdown_streams_spec.lua):
-- an open GET /events stream (as `curl -N /events` holds) ends cleanly as soon as the stop
-- begins, ended by the app's premature timer call, and the process exits well before a large
-- --shutdown-timeout. In one process, without a database.
local S = require("spec.support.server")
local E = require("spec.support.sse")

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
end)
