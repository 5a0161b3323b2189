-- opts.max_output bounds a WebSocket's queued output: sends from a coroutine other than the
-- handler that upgraded (a broadcast) never wait, and a peer that lets more than max_output
-- pile up is dropped (reset: the queue is discarded; close reason "limit"); the sender's next
-- send returns nil, "closed".
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket max_output", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_modes.lua"), args = { "--log-level", "debug" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("drops a peer that does not read once its queue passes max_output", function()
        local c = W.open(srv, "/timer_flood?max_output=262144")
        local status
        assert.is_truthy(S.wait_for(function()
            local code, body = srv:get_body("/status", 3)
            status = body
            return code == 200 and body:match("^sent") ~= nil
        end, 5), tostring(status))
        -- 64 KiB messages, queued without a wait: the first past 256 KiB ends it; nothing had
        -- gone out yet (the timer never yielded), so the drop resets the connection
        local n = tonumber(status:match("^sent (%d+): closed$"))
        assert.is_truthy(n, status)
        assert.is_true(n >= 4 and n <= 5, status)
        local _, kind = c:read_until_close(5)
        assert.are.equal("reset", kind)
        assert.is_truthy(S.wait_for(function()
            return srv:log():find(": close (limit", 1, true) ~= nil
        end, 3), srv:log())
        c:close()
    end)
end)
