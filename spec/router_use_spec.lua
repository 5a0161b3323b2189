-- lunaserve.router: router:use(fn) handlers run before the routes, in order, for every
-- request (404s included); one that finishes the response stops the rest; what one sets on
-- req (req.name = value) the route sees.

local S = require("spec.support.server")

describe("router handlers before routes", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("router_basic.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("run before the route and may add to the response", function()
        local res = assert(srv:fetch(S.get("/plain")))
        assert.are.equal(200, res.status)
        assert.are.equal("1", res:header("X-Before"))
    end)

    it("run for a path no route takes", function()
        local res = assert(srv:fetch(S.get("/nothing")))
        assert.are.equal(404, res.status)
        assert.are.equal("1", res:header("X-Before"))
    end)

    it("end the request when one finishes the response: the route does not run", function()
        local res = assert(srv:fetch(S.get("/blocked/x")))
        assert.are.equal(403, res.status)
        assert.are.equal("blocked by a handler before the routes\n", res.body)
        assert.are.equal("1", res:header("X-Before"))
    end)

    it("pass values to the route on req", function()
        local res = assert(srv:fetch(S.get("/seen")))
        assert.are.equal(200, res.status)
        assert.are.equal("seenBy=before\n", res.body)
    end)
end)
