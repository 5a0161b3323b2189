-- An error in a timer's call is logged with its traceback and goes no further (README, "Timers
-- and time"): the server keeps serving, the call no longer counts as running, and an every()
-- timer goes on with its next calls. A call that runs past --handler-budget without yielding
-- is stopped the same way. spec/apps/timers.lua: /error, /every-error (its 2nd call fails),
-- /spin (never yields).

local S = require("spec.support.server")
local T = require("spec.support.timers")

describe("an error in a timer's call", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("timers.lua"), args = { "--handler-budget", "0.2" } })
        srv:state_when("load_done", 3)
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("is logged with its traceback, and the server keeps serving", function()
        assert.are.equal("true", T.get(srv, "/error?tag=x1"))
        local ok, log = srv:wait_log("boom in timer x1", 2)
        assert.is_true(ok, log)
        assert.is_truthy(log:find("timer error: [^\n]*timers%.lua:%d+: boom in timer x1\n"
            .. "stack traceback:\n"), log)
        assert.are.equal("pending=0 running=0", T.get(srv, "/counts"))
        assert.are.equal("reset", T.get(srv, "/reset"))
    end)

    it("in one call of an every() timer does not stop the next calls", function()
        assert.are.equal("true", T.get(srv, "/every-error?tag=ee"))
        assert.is_true((srv:wait_log("every boom ee", 2)), srv:log())
        local n = S.wait_for(function()
            local v = tonumber(srv:state().ee)
            return v and v >= 5 and v
        end, 2, 0.02)
        assert.is_truthy(n, "calls after the failing one: " .. tostring(srv:state().ee))
        assert.are.equal(1, S.count(srv:log(), "every boom ee"))
    end)

    it("includes the handler budget: a call that never yields is stopped", function()
        local t0 = S.now()
        assert.are.equal("true", T.get(srv, "/spin"))
        local ok, log = srv:wait_log("ran for over 200 ms without yielding", 3)
        assert.is_true(ok, log)
        assert.is_truthy(log:find("timer error: [^\n]*ran for over 200 ms without yielding"), log)
        assert.is_true(S.now() - t0 < 2)
        assert.are.equal("0", T.get(srv, "/counts"):match("running=(%d+)"))
    end)
end)
