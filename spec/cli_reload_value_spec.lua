-- Issue 12, "Command line": --reload takes no value; --reload=... says so instead of calling
-- it an unknown option.

local S = require("spec.support.server")

describe("--reload=VALUE", function()
    it("says that --reload takes no value", function()
        local out, err, code = S.run({ "--port", "0", "--reload=1" }, { timeout = 5 })
        assert.are.equal(2, code)
        assert.are.equal("", out)
        assert.are.equal("lunaserve: --reload takes no value (it reloads the app when its code "
            .. "changes, and SIGHUP always does); see --help\n", err)
    end)
end)
