-- No reload once a stop has begun (README, "Signals, workers and reload"): a SIGHUP while
-- requests in flight drain loads nothing (new code would start timers in a worker that is
-- going away); the request in flight finishes on its code and the process exits 0.
local S = require("spec.support.server")

local function source(version)
    return string.format([[
local lunaserve = require("lunaserve")
io.stderr:write("loaded %s\n")
return function(req, res)
    lunaserve.sleep(600)
    res:finish("%s exiting=" .. tostring(lunaserve.exiting()))
end
]], version, version)
end

describe("a SIGHUP during the stop", function()
    local dir, srv

    after_each(function()
        if srv then
            srv:stop()
        end
        srv = nil
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    it("loads nothing; the request in flight finishes on its code", function()
        dir = S.mktempdir()
        S.write_file(dir .. "/app.lua", source("v1"))
        srv = S.start({ app = dir .. "/app.lua" })
        local slow = srv:connect()
        assert(slow:send(S.get("/")))
        S.sleep(0.15)
        srv:signal("TERM")
        S.write_file_atomic(dir .. "/app.lua", source("v2"))
        S.sleep(0.05)
        srv:signal("HUP")
        local res = assert(slow:read_response({ timeout = 3 }))
        assert.are.equal(200, res.status)
        assert.are.equal("v1 exiting=true", res.body)
        slow:close()
        srv:assert_clean_exit(3)
        local log = srv:log()
        assert.are.equal(1, S.count(log, "loaded v1\n"), log)
        assert.are.equal(0, S.count(log, "loaded v2"), log)
        assert.is_falsy(log:find("reloaded", 1, true), log)
    end)
end)
