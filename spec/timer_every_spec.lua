-- lunaserve.timer.every(interval, fn, ...) (README, "Timers and time"; as OpenResty's
-- ngx.timer.every): returns true and calls fn(false, ...) every `interval` seconds for as long
-- as the worker serves the code that made it; it counts as one pending timer. An interval of 0
-- raises (spec/timer_at_spec.lua). spec/apps/timers.lua: /every?tag=T&interval=I counts the
-- calls in /state; a premature call would be noted in $TIMER_EVIDENCE.

local S = require("spec.support.server")
local T = require("spec.support.timers")

describe("lunaserve.timer.every", function()
    local srv, dir

    lazy_setup(function()
        dir = S.mktempdir()
        srv = S.start({ app = S.app("timers.lua"), env = { TIMER_EVIDENCE = dir .. "/evidence" } })
        srv:state_when("load_done", 3) -- the load's own timer is over
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    it("calls fn every interval and keeps doing so", function()
        local t0 = S.now()
        assert.are.equal("true", T.get(srv, "/every?tag=e1&interval=0.05"))
        assert.are.equal("pending=1 running=0", T.get(srv, "/counts"))
        S.sleep(math.max(0, t0 + 0.5 - S.now()))
        local n1 = tonumber(srv:state().e1)
        local t1 = S.now() - t0
        -- about 10 calls in 0.5 s: never more than the time allows, and not far fewer
        assert.is_truthy(n1, "no call in 0.5 s")
        assert.is_true(n1 <= math.floor(t1 / 0.05) and n1 >= 5, n1 .. " calls in " .. t1 .. " s")
        S.sleep(0.5)
        local n2 = tonumber(srv:state().e1)
        local t2 = S.now() - t0
        assert.is_true(n2 >= n1 + 5 and n2 <= math.floor(t2 / 0.05),
            n2 .. " calls in " .. t2 .. " s (" .. n1 .. " at " .. t1 .. " s)")
        assert.are.equal("pending=1 running=0", T.get(srv, "/counts"))
        assert.is_nil(S.read_file(dir .. "/evidence"), "a premature call while serving")
    end)
end)
