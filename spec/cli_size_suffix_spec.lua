-- Issue 12, "Command line": sizes take a suffix k, m or g (either case), and a bad size's
-- error lists them. --max-body 1k answers 413 past 1024 bytes and 200 at 1024.

local S = require("spec.support.server")

describe("size suffixes", function()
    it("lists k, m and g in the error for a size it cannot read", function()
        for _, bad in ipairs({ "5x", "1t", "1kb", "-1k", "k" }) do
            local out, err, code = S.run({ "--port", "0", "--max-body", bad }, { timeout = 5 })
            assert.are.equal(2, code)
            assert.are.equal("", out)
            assert.are.equal("lunaserve: --max-body " .. bad .. ": expected a number of bytes, "
                .. "optionally with a suffix k, m or g (64k, 1m, 2g)\n", err)
        end
    end)

    it("takes g and G (a 2 GiB max_lua_memory starts)", function()
        for _, size in ipairs({ "2g", "2G" }) do
            local srv = S.start({ args = { "--max-lua-memory", size } })
            local ok, e = pcall(function()
                local res = assert(srv:fetch(S.get("/")))
                assert.are.equal(200, res.status)
            end)
            srv:stop_ok()
            assert(ok, e)
        end
    end)

    it("counts k as 1024 bytes", function()
        local srv = S.start({ args = { "--max-body", "1k" } })
        finally(function() srv:stop_ok() end)
        local at = assert(srv:fetch(S.request("POST", "/", nil, string.rep("a", 1024))))
        assert.are.equal(200, at.status)
        local over = assert(srv:fetch(S.request("POST", "/", nil, string.rep("a", 1025))))
        assert.are.equal(413, over.status)
    end)
end)
