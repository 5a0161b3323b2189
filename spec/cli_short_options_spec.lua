-- Issue 12, "Command line": -h and -v are --help and --version.

local S = require("spec.support.server")

describe("the short options", function()
    it("-h prints the same usage as --help", function()
        local long, long_err, long_code = S.run({ "--help" })
        local out, err, code = S.run({ "-h" })
        assert.are.equal(0, long_code, long_err)
        assert.are.equal(0, code, err)
        assert.are.equal("", err)
        assert.are.equal(long, out)
        assert.is_truthy(out:find("-h, --help", 1, true), out)
    end)

    it("-v prints the same version line as --version", function()
        local long = S.run({ "--version" })
        local out, err, code = S.run({ "-v" })
        assert.are.equal(0, code, err)
        assert.are.equal("", err)
        assert.are.equal(long, out)
        assert.is_truthy(out:match("^lunaserve %d+%.%d+%.%d+ %("), out)
    end)
end)
