-- lunaserve.router: a sub-router mounted under a prefix answers the paths under it (its
-- patterns written without the prefix), runs its own handlers first, and gives its own 404
-- and 405; the parent's own routes under the prefix come first.

local S = require("spec.support.server")
local cjson = require("cjson")

describe("router mounts", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("router_basic.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local TOKEN = { { "X-Token", "t" } }

    it("routes a path under the prefix to the sub-router, with its parameters", function()
        local res = assert(srv:fetch(S.get("/api/users/12", TOKEN)))
        assert.are.equal(200, res.status)
        assert.are.same({ route = "api user", params = { id = "12" } }, cjson.decode(res.body))
        assert.are.equal("1", res:header("X-Api"))
        assert.are.equal("1", res:header("X-Before"), "the parent's handlers ran first")
    end)

    it("answers the prefix itself with the sub-router's / route", function()
        local res = assert(srv:fetch(S.get("/api", TOKEN)))
        assert.are.equal(200, res.status)
        assert.are.equal("api root", cjson.decode(res.body).route)
    end)

    it("runs the sub-router's handler first, which may answer", function()
        local res = assert(srv:fetch(S.get("/api/users/12")))
        assert.are.equal(401, res.status)
        assert.are.equal("token needed\n", res.body)
    end)

    it("gives the sub-router's 404 and 405", function()
        local res = assert(srv:fetch(S.get("/api/nothing", TOKEN)))
        assert.are.equal(404, res.status)
        assert.are.equal("1", res:header("X-Api"))
        assert.are.equal("not found\n", res.body)
        res = assert(srv:fetch(S.request("DELETE", "/api/users/1", TOKEN)))
        assert.are.equal(405, res.status)
        assert.are.equal("GET, HEAD", res:header("Allow"))
        assert.are.equal("1", res:header("X-Api"))
    end)

    it("lets the parent's own route under the prefix come first", function()
        local res = assert(srv:fetch(S.get("/api/health")))
        assert.are.equal(200, res.status)
        assert.are.equal("parent health", cjson.decode(res.body).route)
        assert.is_nil(res:header("X-Api"))
    end)

    it("does not take a path that only starts with the prefix's letters", function()
        local res = assert(srv:fetch(S.get("/apix/users/1", TOKEN)))
        assert.are.equal(404, res.status)
        assert.is_nil(res:header("X-Api"))
    end)
end)
