-- Test app for spec/waits_in_user_coroutines_spec.lua: waiting calls (req:read(), req:body(),
-- lunaserve.sleep()) inside coroutines the handler creates, which must behave as they do in
-- the handler itself.
local lunaserve = require("lunaserve")

local routes = {}

-- POST /generator: a coroutine.wrap generator over req:read(); each chunk is written back as
-- it comes, framed "[chunk]".
routes["/generator"] = function(req, res)
    local chunks = coroutine.wrap(function()
        while true do
            local chunk, err = req:read()
            if not chunk then
                return err
            end
            coroutine.yield(chunk)
        end
    end)
    res:setHeader("Content-Type", "text/plain")
    for chunk in chunks do
        res:write("[" .. chunk .. "]")
    end
    res:finish()
end

-- GET /sleep: lunaserve.sleep() in a coroutine made with coroutine.create, resumed with
-- coroutine.resume, with ordinary yields between the sleeps.
routes["/sleep"] = function(req, res)
    local co = coroutine.create(function(a)
        lunaserve.sleep(100)
        local b = coroutine.yield(a + 1)
        lunaserve.sleep(50)
        return b * 2
    end)
    local ok1, v1 = coroutine.resume(co, 1)
    local status1 = coroutine.status(co)
    local ok2, v2 = coroutine.resume(co, 10)
    res:finish(table.concat({ tostring(ok1), tostring(v1), status1, tostring(ok2), tostring(v2),
        coroutine.status(co) }, ","))
end

-- POST /body: req:body() inside a coroutine.wrap.
routes["/body"] = function(req, res)
    local body, err = coroutine.wrap(function()
        return req:body()
    end)()
    res:finish("body=" .. tostring(body) .. " err=" .. tostring(err))
end

-- POST /nested: a wait two coroutines deep (a coroutine.create inside a coroutine.wrap), with
-- ordinary yields at both levels; the trace says what each level saw, in order.
routes["/nested"] = function(req, res)
    local trace = {}
    local function note(s)
        trace[#trace + 1] = s
    end
    local outer = coroutine.wrap(function()
        local inner = coroutine.create(function()
            note("inner start")
            local chunk = req:read()
            note("inner read " .. tostring(chunk))
            lunaserve.sleep(30)
            note("inner slept")
            local more = coroutine.yield("from inner")
            note("inner resumed with " .. tostring(more))
            local rest = req:read()
            note("inner read " .. tostring(rest))
            return "inner done"
        end)
        local ok, v = coroutine.resume(inner)
        note("outer got " .. tostring(ok) .. " " .. tostring(v) .. " " .. coroutine.status(inner))
        local x = coroutine.yield("from outer")
        note("outer resumed with " .. tostring(x))
        ok, v = coroutine.resume(inner, "second")
        note("outer got " .. tostring(ok) .. " " .. tostring(v) .. " " .. coroutine.status(inner))
        return "outer done"
    end)
    note("handler got " .. outer())
    note("handler got " .. outer("first"))
    res:finish(table.concat(trace, "\n") .. "\n")
end

return function(req, res)
    local route = routes[req.path]
    if route then
        return route(req, res)
    end
    res.statusCode = 404
    res:finish("no route " .. req.path)
end
