-- lunaserve.router: a path no route takes is 404; a path whose routes are for other methods
-- is 405 with Allow listing them (HEAD included when there is GET), each with an exact body.

local S = require("spec.support.server")

describe("router 404 and 405", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("router_basic.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("answers 404 for a path no route takes", function()
        local res = assert(srv:fetch(S.get("/nothing/here")))
        assert.are.equal(404, res.status)
        assert.are.equal("text/plain; charset=utf-8", res:header("Content-Type"))
        assert.are.equal("not found\n", res.body)
        assert.is_nil(res:header("Allow"))
    end)

    it("answers 404 when a parameter would be empty", function()
        local res = assert(srv:fetch(S.get("/items/7/parts/")))
        assert.are.equal(404, res.status)
        assert.are.equal("not found\n", res.body)
    end)

    it("answers 405 with Allow for a method the path has no route for", function()
        local res = assert(srv:fetch(S.request("POST", "/items/3", nil, "x")))
        assert.are.equal(405, res.status)
        assert.are.equal("DELETE, GET, HEAD, PUT", res:header("Allow"))
        assert.are.equal("method not allowed\n", res.body)
    end)

    it("lists no HEAD when the path has no GET route", function()
        local res = assert(srv:fetch(S.get("/items")))
        assert.are.equal(405, res.status)
        assert.are.equal("POST", res:header("Allow"))
    end)

    it("lists the methods of every route that matches the path", function()
        -- /items/special is a static POST route and matches /items/:id (GET, PUT, DELETE)
        local res = assert(srv:fetch(S.request("PATCH", "/items/special")))
        assert.are.equal(405, res.status)
        assert.are.equal("DELETE, GET, HEAD, POST, PUT", res:header("Allow"))
    end)

    it("keeps the connection for the next request after a 404 and a 405", function()
        local c = srv:connect()
        assert(c:send(S.get("/nothing") .. S.request("DELETE", "/plain") .. S.get("/plain")))
        local list = assert(c:read_responses(3))
        assert.are.equal(404, list[1].status)
        assert.are.equal(405, list[2].status)
        assert.are.equal("GET, HEAD", list[2]:header("Allow"))
        assert.are.equal(200, list[3].status)
        c:close()
    end)
end)
