-- Issue 12, "Settings in the app table": a key that only the command line sets (workers,
-- reload, log_level) stops the load and says so.

local S = require("spec.support.server")

describe("a command-line-only key in the app's table", function()
    it("stops start-up saying only the command line sets it", function()
        local out, err, code = S.run({ "--port", "0", S.app("app_table_workers.lua") },
            { timeout = 5 })
        assert.are.equal(1, code, err)
        assert.are.equal("", out)
        assert.is_truthy(err:find("app_table_workers.lua: 'workers' in the app's table: only "
            .. "the command line sets it (--workers)", 1, true), err)
    end)
end)
