-- A worker told to stop while a reload's new code is still loading (its load waits: a sleep,
-- with or without a timer it started) exits promptly: the half-loaded code is dropped as a
-- failed load is (its timers never run, its wait is abandoned), and neither its sleep nor its
-- timer keeps the process alive past the stop.

local S = require("spec.support.server")

local V1 = [[
return function(req, res) res:finish("v1") end
]]

-- the new code waits 20 s while it loads (after starting a timer due in 20 s when asked)
local V2 = [[
local lunaserve = require("lunaserve")
if os.getenv("WITH_TIMER") == "1" then
    assert(lunaserve.timer.at(20, function() end))
end
lunaserve.sleep(20000)
return function(req, res) res:finish("v2") end
]]

describe("stopping while a reload's load waits", function()
    local dir, srv

    local function start(with_timer)
        dir = S.mktempdir()
        local app = dir .. "/app.lua"
        S.write_file(app, V1)
        srv = S.start({ app = app, env = { WITH_TIMER = with_timer and "1" or "0" } })
        assert.are.equal("v1", select(2, srv:get_body("/")))
        S.write_file_atomic(app, V2)
        srv:signal("HUP")
        S.sleep(0.3) -- the new code's load is under way; the old code serves
        assert.are.equal("v1", select(2, srv:get_body("/")))
    end

    after_each(function()
        if srv and srv:alive() then
            srv:kill()
        end
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    it("exits at once when the load sleeps", function()
        start(false)
        srv:signal("TERM")
        local waited = srv:assert_clean_exit(5)
        assert.is_true(waited < 2, string.format("exited %.2f s after SIGTERM", waited))
    end)

    it("exits at once when the load sleeps after starting a timer", function()
        start(true)
        srv:signal("TERM")
        local waited = srv:assert_clean_exit(5)
        assert.is_true(waited < 2, string.format("exited %.2f s after SIGTERM", waited))
    end)
end)
