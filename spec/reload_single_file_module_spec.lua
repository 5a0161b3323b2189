-- Issue 12, "--reload on a single-file app": a module the app loaded from its folder is
-- watched, as the app file is (a module required later, by a handler, counts too).

local S = require("spec.support.server")

describe("--reload on a single-file app", function()
    it("reloads when a module it loaded from its folder is saved", function()
        local dir = S.mktempdir()
        finally(function() os.execute("rm -rf " .. S.shquote(dir)) end)
        S.write_file(dir .. "/greeting.lua", 'return "hello"\n')
        S.write_file(dir .. "/late.lua", 'return "late"\n')
        S.write_file(dir .. "/app.lua", [[
local greeting = require("greeting")
return function(req, res)
    if req.path == "/late" then
        return res:finish(require("late"))
    end
    res:finish(greeting)
end
]])
        local srv = S.start({ app = dir .. "/app.lua", args = { "--reload" } })
        finally(function() srv:stop_ok() end)
        local _, body = srv:get_body("/")
        assert.are.equal("hello", body)

        S.write_file_atomic(dir .. "/greeting.lua", 'return "bonjour"\n')
        assert.is_true(srv:wait_log("reloaded ", 3), srv:log())
        _, body = srv:get_body("/")
        assert.are.equal("bonjour", body)

        -- required by a handler, after the load
        _, body = srv:get_body("/late")
        assert.are.equal("late", body)
        S.write_file_atomic(dir .. "/late.lua", 'return "later"\n')
        assert.is_true(srv:wait_log("reloaded ", 3, 2), srv:log())
        _, body = srv:get_body("/late")
        assert.are.equal("later", body)
    end)
end)
