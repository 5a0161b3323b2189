-- lunaserve.now() (README, "Timers and time"; as OpenResty's ngx.now): seconds since the epoch
-- as a float with milliseconds, from the loop's cached time: it agrees with os.time() and this
-- machine's clock, moves by the time a wait took, stays the same while code runs without
-- waiting, and lunaserve.update_time() reads the time again. spec/apps/timers.lua: /now
-- answers "now os.time() (now after a 50 ms sleep - now) math.type(now)"; /cached answers
-- whether now() stayed the same over 30 ms of work, and how far update_time() then moved it.

local S = require("spec.support.server")
local T = require("spec.support.timers")

describe("lunaserve.now", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("timers.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("gives the time since the epoch in seconds, with milliseconds", function()
        local fractions = {}
        for i = 1, 5 do
            local t0 = S.now()
            local body = T.get(srv, "/now")
            local t1 = S.now()
            local now, os_time, diff, kind = body:match("^(%d+%.%d%d%d) (%d+) (%S+) (%a+)$")
            assert.is_truthy(now, body)
            now, os_time, diff = tonumber(now), tonumber(os_time), tonumber(diff)
            assert.are.equal("float", kind)
            assert.is_true(math.abs(now - os_time) <= 1, body)
            assert.is_true(now >= t0 - 0.01 and now <= t1 + 0.01,
                string.format("%.3f not within [%.3f, %.3f]", now, t0, t1))
            assert.is_true(diff >= 0.04 and diff <= 0.5, "a 50 ms sleep moved now() by " .. diff)
            fractions[i] = now % 1
            S.sleep(0.013 * i)
        end
        -- sub-second resolution: not every reading falls on a whole second
        local whole = 0
        for _, f in ipairs(fractions) do
            if f == 0 then
                whole = whole + 1
            end
        end
        assert.is_true(whole < 5, "every reading was a whole second")
    end)

    it("is the loop's cached time, and update_time() reads the time again", function()
        local same, advanced = T.get(srv, "/cached"):match("^(%a+) (%S+)$")
        assert.are.equal("true", same)
        advanced = tonumber(advanced)
        assert.is_true(advanced >= 0.029 and advanced < 0.5, "update_time() moved it " .. advanced)
    end)
end)
