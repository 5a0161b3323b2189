-- Issue 12, "--host": a value that is no address says what is expected, before anything
-- loads or listens.

local S = require("spec.support.server")

describe("--host with something that is not an address", function()
    for _, bad in ipairs({ "example", "::1]", "[::1", "127.0.0.256", "" }) do
        it("stops with what is expected: " .. string.format("%q", bad), function()
            local out, err, code = S.run({ "--host", bad, "--port", "0" }, { timeout = 5 })
            assert.are.equal(2, code)
            assert.are.equal("", out)
            assert.are.equal("lunaserve: --host " .. bad .. ": expected an IP address "
                .. "(127.0.0.1, 0.0.0.0, ::1, [::1], ::) or localhost\n", err)
        end)
    end
end)
