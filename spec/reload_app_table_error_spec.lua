-- Issue 12, "Settings in the app table": a reload whose app table has an unknown key is a
-- failed load like any other: it is logged, and the code already serving goes on.

local S = require("spec.support.server")

local function app(version, extra)
    return string.format([[
return {
    handle = function(req, res) res:finish(%q) end,
    %s
}
]], version, extra or "")
end

describe("a reload whose app table has an unknown key", function()
    it("is logged and leaves the previous code serving", function()
        local dir = S.mktempdir()
        finally(function() os.execute("rm -rf " .. S.shquote(dir)) end)
        local path = dir .. "/app.lua"
        S.write_file(path, app("v1"))
        local srv = S.start({ app = path })
        finally(function() srv:stop_ok() end)
        local status, body = srv:get_body("/")
        assert.are.equal(200, status)
        assert.are.equal("v1", body)

        S.write_file_atomic(path, app("v2", 'keepaliveTimeout = 3,'))
        srv:signal("HUP")
        local logged, log = srv:wait_log("reload failed, still serving the previous code: ", 3)
        assert.is_true(logged, log)
        assert.is_truthy(log:find("unknown key 'keepaliveTimeout' in the app's table (did you "
            .. "mean 'keepalive_timeout'?)", 1, true), log)
        status, body = srv:get_body("/")
        assert.are.equal(200, status)
        assert.are.equal("v1", body)

        -- the next good save recovers
        S.write_file_atomic(path, app("v3", "keepalive_timeout = 3,"))
        srv:signal("HUP")
        assert.is_true(srv:wait_log("reloaded ", 3), srv:log())
        status, body = srv:get_body("/")
        assert.are.equal(200, status)
        assert.are.equal("v3", body)
    end)
end)
