-- What the timer specs (spec/timer_*_spec.lua) share: requests to the routes of
-- spec/apps/timers.lua, and reading the evidence file ($TIMER_EVIDENCE) that timers' calls
-- write when no request can see them.

local S = require("spec.support.server")
-- (busted's assert: the global one is the plain Lua assert in a module a spec requires)
local assert = require("luassert")

local T = {}

-- GET `target` on a fresh connection (3 s at most); asserts a 200 and returns the body.
function T.get(srv, target)
    local status, body = srv:get_body(target, 3)
    assert.are.equal(200, status, target .. ": " .. tostring(body))
    return body
end

-- The lines of the file at `path`, in order; none when it does not exist.
function T.lines_of(path)
    local t = {}
    for line in (S.read_file(path) or ""):gmatch("[^\n]+") do
        t[#t + 1] = line
    end
    return t
end

-- The same, sorted (for calls whose order is not fixed).
function T.sorted_lines_of(path)
    local t = T.lines_of(path)
    table.sort(t)
    return t
end

return T
