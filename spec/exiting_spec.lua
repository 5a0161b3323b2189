-- lunaserve.exiting() (README, "Timers and time"): false while the code serves; true in the old
-- state once a reload replaced it, and when the worker stops, so that a loop waiting in a
-- timer's call (a LISTEN, a subscription) ends in time: the old state is then freed, and the
-- server stops without waiting for the shutdown timeout.

local S = require("spec.support.server")
local T = require("spec.support.timers")

local function app_source(version)
    return string.format([[
local lunaserve = require("lunaserve")
local VERSION = %q
local EVIDENCE = assert(os.getenv("EVIDENCE"))

assert(lunaserve.timer.at(0, function()
    local rounds = 0
    while not lunaserve.exiting() do
        lunaserve.sleep(20)
        rounds = rounds + 1
    end
    local f = assert(io.open(EVIDENCE, "a"))
    f:write(VERSION, " loop ended, exiting=", tostring(lunaserve.exiting()), "\n")
    f:close()
end))

return function(req, res)
    res:finish(VERSION .. " exiting=" .. tostring(lunaserve.exiting()))
end
]], version)
end

describe("lunaserve.exiting()", function()
    local dir, srv

    after_each(function()
        if srv then
            srv:stop()
        end
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    it("is false while serving, true for the old code after a reload and at the stop", function()
        dir = S.mktempdir()
        local evidence = dir .. "/evidence"
        S.write_file(dir .. "/app.lua", app_source("A"))
        srv = S.start({ app = dir .. "/app.lua", args = { "--log-level", "debug",
            "--shutdown-timeout", "30" }, env = { EVIDENCE = evidence } })
        local status, body = srv:get_body("/", 3)
        assert.are.same({ 200, "A exiting=false" }, { status, body })

        S.write_file_atomic(dir .. "/app.lua", app_source("B"))
        srv:signal("HUP")
        assert.is_truthy(S.wait_for(function()
            local _, b = srv:get_body("/", 3)
            return b == "B exiting=false"
        end, 2, 0.01), "not reloaded:\n" .. srv:log())
        -- the old code's loop saw it and ended; its state is freed
        assert.is_truthy(S.wait_for(function()
            return S.read_file(evidence) == "A loop ended, exiting=true\n"
        end, 2, 0.01), tostring(S.read_file(evidence)))
        assert.is_true((srv:wait_log("a retired Lua state was freed", 2)), srv:log())

        -- the stop: the new code's loop ends at once, well before the shutdown timeout
        local t0 = S.now()
        srv:stop_ok()
        assert.is_true(S.now() - t0 < 5, "the stop took " .. (S.now() - t0) .. " s")
        assert.are.same({ "A loop ended, exiting=true", "B loop ended, exiting=true" },
            T.lines_of(evidence))
    end)
end)
