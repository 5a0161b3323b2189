-- Issue 12, "Command line": an option lunaserve does not know says "unknown option" (with the
-- nearest one when there is one), whether or not a value follows, and nothing starts.

local S = require("spec.support.server")

describe("an unknown option", function()
    for _, case in ipairs({
        { args = { "--frobnicate" }, err = "lunaserve: unknown option --frobnicate (see --help)\n" },
        { args = { "--frobnicate", "1" },
          err = "lunaserve: unknown option --frobnicate (see --help)\n" },
        { args = { "--maxbody", "1m" },
          err = "lunaserve: unknown option --maxbody (did you mean --max-body?) (see --help)\n" },
        { args = { "--worker=2" },
          err = "lunaserve: unknown option --worker (did you mean --workers?) (see --help)\n" },
        { args = { "-x" },
          err = "lunaserve: unknown option -x (short forms: -h, -v; see --help)\n" },
    }) do
        it("says so: " .. table.concat(case.args, " "), function()
            local args = { "--port", "0" }
            for _, a in ipairs(case.args) do
                args[#args + 1] = a
            end
            local out, err, code = S.run(args, { timeout = 5 })
            assert.are.equal(2, code)
            assert.are.equal("", out)
            assert.are.equal(case.err, err)
        end)
    end
end)
