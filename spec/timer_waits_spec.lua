-- A timer's call runs in a coroutine of its own, so it may wait (README, "Timers and time"):
-- lunaserve.sleep in the call and in a coroutine the call made, while the server serves other
-- requests; a running call counts in running_count(). A timer started while the app loads may
-- wait too (the usual way to run startup work that waits). spec/apps/timers.lua: /sleeper
-- sleeps MS in the call, then MS in a coroutine.wrap; the app's load starts an at(0) that
-- sleeps 100 ms.

local S = require("spec.support.server")
local T = require("spec.support.timers")

describe("a timer's call that waits", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("timers.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("sleeps in the call and in a coroutine it made, and the server serves meanwhile", function()
        srv:state_when("load_done", 3)
        assert.are.equal("true", T.get(srv, "/sleeper?tag=s1&ms=300"))
        local st = srv:state_when("s1", 2)
        assert.are.equal("started", st.s1)
        assert.are.equal("pending=0 running=1", T.get(srv, "/counts"))
        st = S.wait_for(function()
            local s = srv:state()
            return s.s1 == "slept" and s
        end, 3, 0.02)
        assert.is_truthy(st, "the call did not end its waits")
        local ms = tonumber(st.s1_ms)
        assert.is_true(ms >= 600 and ms < 1000, "two 300 ms sleeps took " .. st.s1_ms .. " ms")
        assert.are.equal("pending=0 running=0", T.get(srv, "/counts"))
    end)

    it("works when started while the app loads", function()
        local st = srv:state_when("load_done", 3)
        assert.are.equal("false", st.load_started)
        assert.are.equal("yes", st.load_done)
    end)
end)
