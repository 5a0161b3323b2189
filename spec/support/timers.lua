-- What the timer specs (spec/timer_*_spec.lua) share: requests to the routes of
-- spec/apps/timers.lua.

-- (busted's assert: the global one is the plain Lua assert in a module a spec requires)
local assert = require("luassert")

local T = {}

-- GET `target` on a fresh connection (3 s at most); asserts a 200 and returns the body.
function T.get(srv, target)
    local status, body = srv:get_body(target, 3)
    assert.are.equal(200, status, target .. ": " .. tostring(body))
    return body
end

return T
