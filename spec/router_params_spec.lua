-- lunaserve.router: path parameters in req.params (`:name` one segment, `*name` the rest),
-- each segment percent-decoded on its own, static segments before parameters, with
-- backtracking when the static branch leads nowhere.

local S = require("spec.support.server")
local cjson = require("cjson")

describe("router parameters", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("router_basic.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function routed(target, method)
        local res = assert(srv:fetch(S.request(method or "GET", target)))
        assert.are.equal(200, res.status, target .. ": " .. res.raw)
        assert.are.equal("application/json", res:header("Content-Type"))
        return cjson.decode(res.body)
    end

    it("puts a :name segment in req.params", function()
        assert.are.same({ route = "item", params = { id = "42" } }, routed("/items/42"))
    end)

    it("gives a route without parameters an empty req.params", function()
        assert.are.same({ route = "root", params = {} }, routed("/"))
    end)

    it("fills several parameters", function()
        assert.are.same({ route = "part", params = { id = "7", part = "wheel" } },
            routed("/items/7/parts/wheel"))
    end)

    it("picks the route by method on the same pattern", function()
        assert.are.same({ route = "item put", params = { id = "9" } }, routed("/items/9", "PUT"))
        assert.are.same({ route = "item delete", params = { id = "9" } },
            routed("/items/9", "DELETE"))
    end)

    it("percent-decodes a parameter, and a %2F stays inside it", function()
        assert.are.same({ route = "item", params = { id = "a/b c" } }, routed("/items/a%2Fb%20c"))
    end)

    it("does not take the query into a parameter", function()
        assert.are.same({ route = "item", params = { id = "5" } }, routed("/items/5?id=6"))
    end)

    it("gives a *name wildcard the rest of the path, decoded per segment", function()
        assert.are.same({ route = "files", params = { path = "docs/a b/c%d" } },
            routed("/files/docs/a%20b/c%25d"))
        assert.are.same({ route = "files", params = { path = "one" } }, routed("/files/one"))
    end)

    it("keeps a trailing slash in the wildcard's value", function()
        assert.are.same({ route = "files", params = { path = "x/y/" } }, routed("/files/x/y/"))
    end)

    it("prefers a static segment and falls back to the parameter when it leads nowhere",
        function()
            assert.are.same({ route = "static abc", params = {} }, routed("/a/b/c"))
            assert.are.same({ route = "param d", params = { x = "b" } }, routed("/a/b/d"))
            assert.are.same({ route = "param d", params = { x = "z" } }, routed("/a/z/d"))
        end)

    it("takes the parameter route when the static one has no route for the method", function()
        assert.are.same({ route = "special post", params = {} }, routed("/items/special", "POST"))
        assert.are.same({ route = "item", params = { id = "special" } }, routed("/items/special"))
    end)

    it("takes a route registered for several methods", function()
        assert.are.same({ route = "both", params = {} }, routed("/both", "GET"))
        assert.are.same({ route = "both", params = {} }, routed("/both", "POST"))
    end)
end)
