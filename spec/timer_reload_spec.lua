-- Timers across a reload (README, "Timers and time"; SIGHUP as in spec/reload_spec.lua): the
-- old code's timers that wait to fire get one last call at once, with premature = true, in the
-- old state, and an every() timer is not called again after it; a call that is waiting (a
-- sleep) at the reload goes on in the old state, which lives until it ends and is then freed;
-- the new code's timers start as it loads, and the new code serves at once.
--
-- The app is written into a temporary folder as version A, then B. Each version, as it
-- loads, starts an every(0.03) timer (counting its calls, shown in the answer "VERSION n") and
-- an at(3600) timer; /wait starts an at(0) whose call sleeps 400 ms. What the calls see is
-- appended to $TIMER_EVIDENCE as "VERSION what" lines (the old state's tables are gone after
-- the reload).

local S = require("spec.support.server")
local T = require("spec.support.timers")

local function app_source(version)
    return string.format([[
local lunaserve = require("lunaserve")
local timer = lunaserve.timer
local VERSION = %q
local EVIDENCE = assert(os.getenv("TIMER_EVIDENCE"))

local function note(line)
    local f = assert(io.open(EVIDENCE, "a"))
    f:write(VERSION, " ", line, "\n")
    f:close()
end

local ticks = 0
assert(timer.every(0.03, function(premature, tag)
    if premature then
        note(tag .. " premature")
        return
    end
    ticks = ticks + 1
end, "every"))
assert(timer.at(3600, function(premature, tag)
    note(tag .. " premature=" .. tostring(premature))
end, "at"))

return function(req, res)
    if req.path == "/wait" then
        assert(timer.at(0, function(premature)
            note("waiter start premature=" .. tostring(premature))
            lunaserve.sleep(400)
            note("waiter end")
        end))
    end
    res:finish(VERSION .. " " .. ticks)
end
]], version)
end

-- "VERSION n" from a fresh connection
local function answer(srv)
    local status, body = srv:get_body("/", 3)
    assert.are.equal(200, status, tostring(body))
    local v, n = body:match("^(%a) (%d+)$")
    assert.is_truthy(v, body)
    return v, tonumber(n)
end

describe("a reload while timers are pending and a timer's call waits", function()
    local dir, srv

    after_each(function()
        if srv then
            srv:stop()
        end
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    it("gives the old code's timers one premature call, lets the waiting call finish, and starts the new code's timers",
        function()
            dir = S.mktempdir()
            local evidence = dir .. "/evidence"
            S.write_file(dir .. "/app.lua", app_source("A"))
            srv = S.start({ app = dir .. "/app.lua", args = { "--log-level", "debug" },
                env = { TIMER_EVIDENCE = evidence } })
            assert.is_truthy(S.wait_for(function()
                local v, n = answer(srv)
                return v == "A" and n >= 2
            end, 2, 0.02), "A's every() timer does not run")

            local status, body = srv:get_body("/wait", 3)
            assert.are.equal(200, status, tostring(body))
            assert.is_truthy(S.wait_for(function()
                return S.read_file(evidence) == "A waiter start premature=false\n"
            end, 2, 0.01), tostring(S.read_file(evidence)))

            S.write_file_atomic(dir .. "/app.lua", app_source("B"))
            srv:signal("HUP")
            assert.is_truthy(S.wait_for(function() return answer(srv) == "B" end, 2, 0.01),
                "not reloaded:\n" .. srv:log())
            -- the premature calls came at once, before the waiting call ended
            assert.are.same({ "A at premature=true", "A every premature",
                "A waiter start premature=false" }, T.sorted_lines_of(evidence))

            -- the waiting call ends in the old state, which is freed after it
            assert.is_truthy(S.wait_for(function()
                return #T.lines_of(evidence) == 4
            end, 2, 0.01), tostring(S.read_file(evidence)))
            assert.are.equal("A waiter end", T.lines_of(evidence)[4])
            assert.is_true((srv:wait_log("a retired Lua state was freed", 2)), srv:log())

            -- the new code's timers run; the old ones are called no more
            local _, n1 = answer(srv)
            S.sleep(0.2)
            local v2, n2 = answer(srv)
            assert.are.equal("B", v2)
            assert.is_true(n2 > n1 and n1 >= 1, "B's every() timer: " .. n1 .. " then " .. n2)
            assert.are.equal(4, #T.lines_of(evidence), tostring(S.read_file(evidence)))

            -- and the new code's own timers get their premature call when the worker stops
            srv:stop_ok()
            assert.are.same({ "A at premature=true", "A every premature",
                "A waiter end", "A waiter start premature=false",
                "B at premature=true", "B every premature" }, T.sorted_lines_of(evidence))
        end)
end)
