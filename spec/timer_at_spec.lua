-- lunaserve.timer.at(delay, fn, ...) (README, "Timers and time"; as OpenResty's ngx.timer.at):
-- returns true and calls fn(premature, ...) once, no earlier than `delay` seconds later (a
-- fraction, or 0), with premature = false and the arguments as given, nils included. A wrong
-- call raises as OpenResty's does. spec/apps/timers.lua: /at?tag=T&delay=D starts
-- at(D, fn, T, nil, 3), and the call records in /state what it saw and the milliseconds from
-- at() to the call (measured in the server with lunaserve.update_time/now).

local S = require("spec.support.server")
local T = require("spec.support.timers")

describe("lunaserve.timer.at", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("timers.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("calls fn once, not before its delay, with premature = false and the arguments", function()
        local t0 = S.now()
        assert.are.equal("true", T.get(srv, "/at?tag=a1&delay=0.5"))
        -- 0.2 s before the delay ends: not called yet
        S.sleep(math.max(0, t0 + 0.3 - S.now()))
        assert.is_nil(srv:state().a1, "called before its delay")
        local st = srv:state_when("a1", 3)
        assert.are.equal("premature=false n=3 args=a1,nil,3", st.a1)
        local ms = tonumber(st.a1_ms)
        assert.is_true(ms >= 500 and ms < 800, "called " .. st.a1_ms .. " ms after at()")
        S.sleep(0.3)
        assert.are.equal("1", srv:state().a1_calls)
    end)

    it("takes a fraction of a second", function()
        assert.are.equal("true", T.get(srv, "/at?tag=a2&delay=0.05"))
        local st = srv:state_when("a2", 3)
        assert.are.equal("premature=false n=3 args=a2,nil,3", st.a2)
        local ms = tonumber(st.a2_ms)
        assert.is_true(ms >= 50 and ms < 350, "called " .. st.a2_ms .. " ms after at()")
    end)

    it("takes 0: called as soon as the loop comes round, after the code that made it", function()
        assert.are.equal("true", T.get(srv, "/at?tag=a3&delay=0"))
        local st = srv:state_when("a3", 3)
        assert.are.equal("premature=false n=3 args=a3,nil,3", st.a3)
        assert.is_true(tonumber(st.a3_ms) < 300, "called " .. st.a3_ms .. " ms after at()")
    end)

    it("raises for a wrong call, as OpenResty does, and starts nothing", function()
        local before = T.get(srv, "/counts")
        local cases = {
            every0 = "delay cannot be zero",
            negative = "bad argument #1 to 'at' (must be a number >= 0)",
            nan = "bad argument #1 to 'at' (must be a number >= 0)",
            nofn = "bad argument #2 to 'at' (function expected, got string)",
            onearg = "expecting at least 2 arguments but got 1",
        }
        for case, message in pairs(cases) do
            local body = T.get(srv, "/bad?case=" .. case)
            -- (where: the line of the app that called)
            assert.is_truthy(body:find("^error [^\n]*/spec/apps/timers%.lua:%d+: "), body)
            assert.are.equal(message, body:match("^error [^:]+:%d+: (.*)$"), case .. ": " .. body)
        end
        assert.are.equal(before, T.get(srv, "/counts"))
    end)
end)
