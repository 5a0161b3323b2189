-- Timers when the worker stops (README, "Timers and time"; graceful stop as in
-- spec/shutdown_spec.lua): on SIGTERM or SIGINT every pending timer gets its last call at
-- once, with premature = true (an every() timer too); such a call may wait (work flushed at
-- exit) but cannot start a timer with a delay (nil, "process exiting", as in OpenResty); a call
-- that was waiting goes on; the process exits 0 as soon as they are done. A call still waiting
-- when --shutdown-timeout ends is abandoned (logged), and the process exits 0 all the same;
-- under ASan with leak detection, with nothing leaked.
--
-- spec/apps/timers.lua: /for-exit?tag=T&ms=MS starts an at(3600) whose premature call notes,
-- tries at(1, ...), sleeps 50 ms and notes "flushed"; an every(3600); and an at(0) whose call
-- notes its start, sleeps MS ms and notes its end. The notes go to $TIMER_EVIDENCE.

local S = require("spec.support.server")
local T = require("spec.support.timers")

local function start(dir, args)
    local srv = S.start({ app = S.app("timers.lua"), args = args,
        env = { TIMER_EVIDENCE = dir .. "/evidence" } })
    srv:state_when("load_done", 3)
    return srv
end

-- Starts the /for-exit timers and waits until the waiting call has begun.
local function for_exit(srv, dir, tag, ms)
    local status, body = srv:get_body("/for-exit?tag=" .. tag .. "&ms=" .. ms, 3)
    assert.are.equal(200, status, tostring(body))
    assert.are.equal("true,true,true", body)
    assert.is_truthy(S.wait_for(function()
        return S.read_file(dir .. "/evidence") == tag .. " waiter start premature=false\n"
    end, 2, 0.01), tostring(S.read_file(dir .. "/evidence")))
end

describe("timers when the worker stops", function()
    local dir, srv

    before_each(function()
        dir = S.mktempdir()
    end)

    after_each(function()
        if srv then
            srv:stop()
        end
        srv = nil
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    for _, sig in ipairs({ "TERM", "INT" }) do
        it("on SIG" .. sig .. ": premature calls at once, the waiting call ends, exit 0 promptly",
            function()
                srv = start(dir)
                for_exit(srv, dir, "X", 300)
                local t0 = S.now()
                srv:signal(sig)
                local waited = srv:assert_clean_exit(5)
                assert.is_true(waited < 1.5, "exited " .. waited .. " s after SIG" .. sig)
                assert.is_true(S.now() - t0 >= 0.05, "exited before the premature call's sleep")
                assert.are.same({
                    "X at premature=true",
                    "X every premature=true",
                    "X flushed",
                    "X new timer: nil process exiting",
                    "X waiter end",
                    "X waiter start premature=false",
                }, T.sorted_lines_of(dir .. "/evidence"))
            end)
    end

    it("does not wait for a call still waiting past --shutdown-timeout", function()
        srv = start(dir, { "--shutdown-timeout", "0.5" })
        for_exit(srv, dir, "Y", 60000)
        local t0 = S.now()
        srv:signal("TERM")
        srv:assert_clean_exit(5)
        local took = S.now() - t0
        assert.is_true(took >= 0.45 and took < 2, "exited " .. took .. " s after SIGTERM")
        assert.is_truthy(srv:log():find("shutdown: 1 timer(s) still running or pending: stopped",
            1, true), srv:log())
        assert.are.same({
            "Y at premature=true",
            "Y every premature=true",
            "Y flushed",
            "Y new timer: nil process exiting",
            "Y waiter start premature=false",
        }, T.sorted_lines_of(dir .. "/evidence"))
    end)

    it("exits at once when no timer is left", function()
        srv = start(dir)
        local t0 = S.now()
        srv:signal("TERM")
        srv:assert_clean_exit(5)
        assert.is_true(S.now() - t0 < 0.5, "exited " .. (S.now() - t0) .. " s after SIGTERM")
        assert.is_nil(S.read_file(dir .. "/evidence"))
    end)
end)
