-- SIGUSR1 reopens the access log in every worker (as nginx's reopen), for logrotate: under
-- load, after the file is renamed and the signal sent, the old file gets the lines written
-- before each worker reopened and the new file the rest; no line is lost or cut, and lines
-- of the two workers never interleave.

local S = require("spec.support.server")
local A = require("spec.support.access_log")

local ECHO = S.root .. "/apps/echo"

-- Requests on `conns` keep-alive connections, round robin, for `seconds`; calls at(t) once
-- when t seconds have passed. Returns the number of responses.
local function load(srv, conns, seconds, at_time, at)
    local cs = {}
    for i = 1, conns do
        cs[i] = srv:connect()
    end
    local n, start, fired = 0, S.now(), false
    while S.now() - start < seconds do
        for _, c in ipairs(cs) do
            assert(c:send(S.get("/bytes/" .. (n % 7 + 1))))
            assert.are.equal(200, assert(c:read_response({ timeout = 5 })).status)
            n = n + 1
        end
        if not fired and S.now() - start >= at_time then
            fired = true
            at()
        end
    end
    for _, c in ipairs(cs) do
        c:close()
    end
    return n
end

describe("SIGUSR1 with two workers under load", function()
    it("moves the log to a new file with no line lost or cut", function()
        local dir = S.mktempdir()
        local path = dir .. "/access.log"
        local srv = S.start_any({ app = ECHO, args = { "--workers", "2", "--access-log", path,
            "--max-requests", "1000000" } })
        local n = load(srv, 8, 3, 1.5, function()
            assert(os.rename(path, path .. ".1"))
            srv:signal("USR1")
        end)
        -- and once more after the signal: the new file exists
        assert(S.wait_for(function() return S.read_file(path) ~= nil end, 3),
            "no new file after SIGUSR1")
        srv:stop_ok()
        assert.is_nil(srv:log():find("cannot reopen", 1, true), srv:log())
        local old, old_whole = A.lines(path .. ".1")
        local new, new_whole = A.lines(path)
        assert.is_true(old_whole and new_whole, "a file does not end with a newline")
        assert.is_true(#old > 0 and #new > 0, #old .. " lines before, " .. #new .. " after")
        assert.are.equal(n, #old + #new)
        for _, set in ipairs({ old, new }) do
            for _, line in ipairs(set) do
                assert.is_truthy(line:match(A.COMBINED), "a cut or mixed line: " .. line)
                assert.is_truthy(line:match('"GET /bytes/%d HTTP/1.1" 200 %d "%-" "%-"$'), line)
            end
        end
    end)
end)
