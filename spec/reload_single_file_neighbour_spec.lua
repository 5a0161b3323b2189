-- Issue 12, "--reload on a single-file app": it watches that file and the modules it loaded
-- from its folder. Saving another app that sits in the same folder does not reload it (which
-- used to wipe its state); saving the app itself still does.

local S = require("spec.support.server")

-- An app that counts its requests: a reload starts the count again.
local COUNTER = [[
local n = 0
return function(req, res)
    n = n + 1
    res:finish(%q .. " " .. n)
end
]]

describe("--reload on a single-file app", function()
    it("ignores another .lua file saved in its folder and reloads when the app is saved",
        function()
            local dir = S.mktempdir()
            finally(function() os.execute("rm -rf " .. S.shquote(dir)) end)
            S.write_file(dir .. "/one.lua", COUNTER:format("one"))
            S.write_file(dir .. "/other.lua", COUNTER:format("other"))
            local srv = S.start({ app = dir .. "/one.lua", args = { "--reload" } })
            finally(function() srv:stop_ok() end)
            local _, body = srv:get_body("/")
            assert.are.equal("one 1", body)

            S.write_file_atomic(dir .. "/other.lua", COUNTER:format("other2"))
            S.write_file(dir .. "/other.lua", COUNTER:format("other3"))
            -- well past the debounce (30 ms) and a reload's load
            S.sleep(0.5)
            _, body = srv:get_body("/")
            assert.are.equal("one 2", body)
            assert.are.equal(0, S.count(srv:log(), "reloaded"), srv:log())

            S.write_file_atomic(dir .. "/one.lua", COUNTER:format("one-b"))
            assert.is_true(srv:wait_log("reloaded ", 3), srv:log())
            _, body = srv:get_body("/")
            assert.are.equal("one-b 1", body)
        end)
end)
