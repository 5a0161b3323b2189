-- Issue 12, "Settings in the app table": what the table may hold, 'handle' and the settings by
-- their names, loads, and the settings apply (max_body = "8" answers 413 past 8 bytes).

local S = require("spec.support.server")

describe("an app table with 'handle' and settings only", function()
    it("loads and applies its settings", function()
        local dir = S.mktempdir()
        finally(function() os.execute("rm -rf " .. S.shquote(dir)) end)
        S.write_file(dir .. "/app.lua", [[
return {
    handle = function(req, res)
        req:on("data", function() end)
        req:on("end", function() res:finish("ok") end)
    end,
    max_body = "8",
    keepalive_timeout = 3,
}
]])
        local srv = S.start({ app = dir .. "/app.lua" })
        finally(function() srv:stop_ok() end)
        local small = assert(srv:fetch(S.request("POST", "/", nil, "12345678")))
        assert.are.equal(200, small.status)
        assert.are.equal("ok", small.body)
        local big = assert(srv:fetch(S.request("POST", "/", nil, "123456789")))
        assert.are.equal(413, big.status)
    end)
end)
