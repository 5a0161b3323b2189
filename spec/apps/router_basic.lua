-- Test app for the lunaserve.router specs: routes with parameters, a wildcard, static routes
-- beside parameters, a sub-router under /api with its own handler that runs first, and
-- handlers before the routes that may answer or let the request go on.
local router = require("lunaserve.router")
local cjson = require("cjson")

local app = router.new()

-- before the routes: /blocked/... is answered here; every request gets X-Before; a value
-- set on req here is seen by the route
app:use(function(req, res)
    res:setHeader("X-Before", "1")
    req.seenBy = "before"
end)
app:use(function(req, res)
    if req.path:find("^/blocked") then
        res.statusCode = 403
        res:finish("blocked by a handler before the routes\n")
    end
end)

local function params(req, res)
    res:setHeader("Content-Type", "application/json")
    res:finish(cjson.encode({ route = req.route, params = req.params }))
end

local function route(name)
    return function(req, res)
        req.route = name
        return params(req, res)
    end
end

app:get("/", route("root"))
app:get("/items/:id", route("item"))
app:put("/items/:id", route("item put"))
app:delete("/items/:id", route("item delete"))
app:post("/items", route("items post"))
app:post("/items/special", route("special post"))
app:get("/items/:id/parts/:part", route("part"))
app:get("/files/*path", route("files"))
app:get("/a/b/c", route("static abc"))
app:get("/a/:x/d", route("param d"))
app:get("/dir/", route("dir with slash"))
app:get("/plain", route("plain"))
app:route({ "GET", "POST" }, "/both", route("both"))
app:get("/blocked/x", route("never"))
app:get("/seen", function(req, res) res:finish("seenBy=" .. tostring(req.seenBy) .. "\n") end)

-- HEAD: the GET route runs (the server sends no body); one path has a HEAD route of its own
app:get("/sized", function(req, res)
    res:setHeader("X-Method-Seen", req.method)
    res:finish("twelve bytes")
end)
app:head("/own-head", function(req, res)
    res:setHeader("X-Own", "head")
    res:finish()
end)
app:get("/own-head", function(req, res) res:finish("get body") end)

-- req takes fields a library sets, never the ones it owns
app:get("/req-fields", function(req, res)
    local out = {}
    for _, k in ipairs({ "method", "path", "headers", "read", "complete" }) do
        local ok, err = pcall(function() req[k] = "x" end)
        out[#out + 1] = k .. "=" .. (ok and "set" or tostring(err):gsub("^.-: ", ""))
    end
    req.custom = { 1, 2 }
    out[#out + 1] = "custom=" .. #req.custom
    out[#out + 1] = "unset=" .. tostring(req.unset)
    out[#out + 1] = "method=" .. req.method
    res:finish(table.concat(out, "\n") .. "\n")
end)

local api = router.new()
api:use(function(req, res)
    res:setHeader("X-Api", "1")
    if req.headers["x-token"] ~= "t" then
        res.statusCode = 401
        res:finish("token needed\n")
    end
end)
api:get("/", route("api root"))
api:get("/users/:id", route("api user"))
app:mount("/api", api)
app:get("/api/health", route("parent health"))

return app
