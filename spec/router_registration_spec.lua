-- lunaserve.router, as an app declares its routes (a unit spec: the module is pure Lua and
-- loads without the server): patterns that cannot mean one thing are refused when declared,
-- with an error that says why, rather than matched one way or another later.

local S = require("spec.support.server")

package.path = S.root .. "/lua/?.lua;" .. package.path
local router = require("lunaserve.router")

local function noop() end

describe("router registration", function()
    local function refuses(fn, message)
        local ok, err = pcall(fn)
        assert.is_false(ok)
        assert.is_truthy(tostring(err):find(message, 1, true), tostring(err))
    end

    it("refuses a pattern that does not start with /", function()
        refuses(function() router.new():get("items", noop) end,
            "a route's path must be a string that starts with '/' (got items)")
    end)

    it("refuses two parameter names at the same place", function()
        local r = router.new():get("/items/:id", noop)
        refuses(function() r:get("/items/:name/x", noop) end,
            "route '/items/:name/x': ':name' where another route has ':id'")
    end)

    it("refuses a wildcard that is not the last segment", function()
        refuses(function() router.new():get("/files/*path/x", noop) end,
            "route '/files/*path/x': a wildcard must be the last segment")
    end)

    it("refuses a parameter without a name and an empty segment", function()
        refuses(function() router.new():get("/items/:", noop) end,
            "route '/items/:': a parameter needs a name (:name or *name)")
        refuses(function() router.new():get("/a//b", noop) end,
            "route '/a//b' has an empty segment")
    end)

    it("refuses the same method twice on one pattern", function()
        local r = router.new():get("/x", noop)
        refuses(function() r:route({ "POST", "GET" }, "/x", noop) end,
            "a GET route for '/x' exists already")
    end)

    it("refuses a method that is not a token and a handler that is not a function", function()
        refuses(function() router.new():route("GE T", "/x", noop) end, "not a method name: GE T")
        refuses(function() router.new():get("/x", "nope") end,
            "route '/x' needs a handler function")
    end)

    it("refuses a mount prefix with a parameter, a second mount there, and itself", function()
        local r = router.new()
        refuses(function() r:mount("/users/:id", router.new()) end,
            "mount prefix '/users/:id' must be static, without a trailing slash")
        r:mount("/api", router.new())
        refuses(function() r:mount("/api", router.new()) end,
            "a router is mounted at '/api' already")
        refuses(function() r:mount("/self", r) end,
            "router:mount needs another router made by lunaserve.router.new()")
    end)

    it("keeps only `handle` on the router table, so it is an app's table as it is", function()
        local r = router.new():get("/x", noop):use(noop)
        local keys = {}
        for k in pairs(r) do
            keys[#keys + 1] = k
        end
        assert.are.same({ "handle" }, keys)
        assert.are.equal("function", type(r.handle))
    end)
end)
