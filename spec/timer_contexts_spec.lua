-- Where lunaserve.timer.at may be called (README, "Timers and time"): in a handler, in a
-- listener (which cannot wait itself), in a timer's call, and while the app loads.
-- spec/apps/timers.lua: /from-listener starts one in a 'finish' listener, /from-timer one in a
-- timer's call, and the app's load starts one; each records premature in /state.

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

    it("works in a listener", function()
        assert.are.equal("ok", T.get(srv, "/from-listener"))
        local st = srv:state_when("from_listener", 2)
        assert.are.equal("true", st.listener_at)
        assert.are.equal("false", st.from_listener)
    end)

    it("works in a timer's call", function()
        assert.are.equal("true", T.get(srv, "/from-timer"))
        local st = srv:state_when("from_timer", 2)
        assert.are.equal("true", st.inner_at)
        assert.are.equal("false", st.from_timer)
    end)

    it("works while the app loads", function()
        local st = srv:state_when("load_started", 2)
        assert.are.equal("false", st.load_started)
    end)
end)
