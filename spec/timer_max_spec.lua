-- The timers pending or running in a worker are bounded by the setting max_timers (README,
-- "Timers and time"): past it, at() and every() return nil, "too many pending timers" (as
-- OpenResty's do past lua_max_pending_timers); a timer that has been called frees its place;
-- an every() timer whose call would go past the bound skips that call, logged.
-- spec/apps/timers.lua: /many?n=N&delay=D starts N at() timers and says how many were taken
-- and the first refusal; /counts gives pending_count() and running_count().

local S = require("spec.support.server")
local T = require("spec.support.timers")

describe("--max-timers", function()
    it("refuses timers past the bound with nil, 'too many pending timers', until some are done",
        function()
            local srv = S.start({ app = S.app("timers.lua"), args = { "--max-timers", "5" } })
            finally(function() srv:stop_ok() end)
            srv:state_when("load_done", 3)
            assert.are.equal("ok=5 first_err=nil too many pending timers",
                T.get(srv, "/many?n=7&delay=0.3"))
            assert.are.equal("pending=5 running=0", T.get(srv, "/counts"))
            assert.are.equal("nil too many pending timers", T.get(srv, "/every?tag=e&interval=1"))
            -- called: their places are free again
            assert.is_truthy(S.wait_for(function()
                return T.get(srv, "/counts") == "pending=0 running=0"
            end, 2, 0.02), T.get(srv, "/counts"))
            assert.are.equal("ok=5", T.get(srv, "/many?n=5&delay=30"))
            assert.are.equal("ok=0 first_err=nil too many pending timers",
                T.get(srv, "/many?n=1&delay=30"))
        end)

    it("skips an every() timer's call that would go past the bound, and logs it", function()
        local srv = S.start({ app = S.app("timers.lua"), args = { "--max-timers", "2" } })
        finally(function() srv:stop_ok() end)
        srv:state_when("load_done", 3)
        assert.are.equal("ok=1", T.get(srv, "/many-every?n=1&interval=0.02"))
        local n = S.wait_for(function() return tonumber(srv:state().many_every) end, 2, 0.02)
        assert.is_truthy(n, "the every() timer was not called")
        -- one pending every() and one pending at(): the bound is reached
        assert.are.equal("ok=1", T.get(srv, "/many?n=1&delay=30"))
        assert.are.equal("pending=2 running=0", T.get(srv, "/counts"))
        local ok, log = srv:wait_log("a call of an every() timer was skipped", 2)
        assert.is_true(ok, log)
        local n1 = tonumber(srv:state().many_every)
        S.sleep(0.2)
        assert.are.equal(n1, tonumber(srv:state().many_every))
    end)
end)
