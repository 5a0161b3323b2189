-- Test app for the router's cost: /small is a router with 10 static routes, /big one with
-- 5000, both with the same parameter and wildcard routes. GET /last-steps answers how many
-- steps (tree nodes visited, lunaserve.router's debug counter) the previous request's
-- routing took, whatever its answer was.
local router = require("lunaserve.router")

local function answer(req, res)
    res:finish("ok\n")
end

local function with_routes(n)
    local r = router.new()
    for i = 1, n do
        r:get("/route" .. i .. "/leaf", answer)
    end
    r:get("/users/:id/posts/:post", answer)
    r:get("/files/*path", answer)
    return r
end

local app = router.new()
app:mount("/small", with_routes(10))
app:mount("/big", with_routes(5000))

local last = 0

return function(req, res)
    if req.path == "/last-steps" then
        return res:finish(tostring(last) .. "\n")
    end
    local before = router.debug.steps
    app.handle(req, res)
    last = router.debug.steps - before
end
