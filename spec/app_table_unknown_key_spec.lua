-- Issue 12, "Settings in the app table": a key that is neither 'handle' nor a setting stops the
-- load, with an error that names the nearest setting and the valid keys (it used to be ignored).

local S = require("spec.support.server")

describe("an unknown key in the app's table", function()
    it("stops start-up naming the nearest setting and the valid keys", function()
        local out, err, code = S.run({ "--port", "0", S.app("app_table_typo.lua") },
            { timeout = 5 })
        assert.are.equal(1, code, err)
        assert.are.equal("", out)
        assert.is_truthy(err:find("app_table_typo.lua: unknown key 'maxBody' in the app's "
            .. "table (did you mean 'max_body'?); valid keys: handle, host, port, ", 1, true), err)
        -- every setting is listed
        for _, name in ipairs({ "keepalive_timeout", "max_body", "max_header", "max_timers" }) do
            assert.is_truthy(err:find(", " .. name, 1, true), name .. " missing from: " .. err)
        end
    end)
end)
