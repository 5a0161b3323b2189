-- The stop is bounded by --shutdown-timeout from the signal (README, "Signals, workers and
-- reload"; "Timers and time"): a request still running and a timer call still waiting at the
-- end of it are both ended then, and the process exits 0 (under ASan, with nothing leaked);
-- the timer call does not get another --shutdown-timeout after the connections are dropped.
--
-- spec/apps/sse_shutdown.lua: /slow?ms= (an ordinary request), /waiter?ms= (a timer call
-- that sleeps).
local S = require("spec.support.server")

describe("the stop's bound", function()
    local srv

    after_each(function()
        if srv then
            srv:stop()
        end
        srv = nil
    end)

    it("ends a request and a timer call still waiting --shutdown-timeout after the signal",
        function()
            srv = S.start({ app = S.app("sse_shutdown.lua"), args = { "--shutdown-timeout", "1" } })
            local status, body = srv:get_body("/waiter?ms=60000", 2)
            assert.are.same({ 200, "true,nil" }, { status, body })
            local slow = srv:connect()
            assert(slow:send(S.get("/slow?ms=60000")))
            S.sleep(0.15)
            local t0 = S.now()
            srv:signal("TERM")
            local data, kind = slow:read_until_close(5)
            local dropped = S.now() - t0
            slow:close()
            assert.are_not.equal("timeout", kind)
            assert.are.equal("", data)
            assert.is_true(dropped >= 0.9 and dropped < 1.6, "dropped " .. dropped .. " s after SIGTERM")
            srv:assert_clean_exit(5)
            local took = S.now() - t0
            assert.is_true(took >= 0.9 and took < 1.7, "exited " .. took .. " s after SIGTERM")
            local log = srv:log()
            assert.is_truthy(log:find("shutdown: 1 connection(s) still busy: dropped", 1, true), log)
            assert.is_truthy(log:find("shutdown: 1 timer(s) still running or pending: stopped", 1,
                true), log)
        end)
end)
