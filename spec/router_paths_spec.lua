-- lunaserve.router, trailing slashes and empty segments as chosen: a trailing slash is part
-- of the path; when no route takes it but the other form has a route for the method, 308 to
-- that form (the query and the raw escapes kept); an empty segment elsewhere is 404, never
-- a redirect (so no "//host" Location).

local S = require("spec.support.server")
local cjson = require("cjson")

describe("router trailing slashes and empty segments", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("router_basic.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function redirect(method, target, location)
        local res = assert(srv:fetch(S.request(method, target)))
        assert.are.equal(308, res.status, target)
        assert.are.equal(location, res:header("Location"), target)
        assert.are.equal("0", res:header("Content-Length"))
        assert.are.equal("", res.body)
    end

    it("takes a route written with a trailing slash only with it", function()
        local res = assert(srv:fetch(S.get("/dir/")))
        assert.are.equal(200, res.status)
        assert.are.equal("dir with slash", cjson.decode(res.body).route)
    end)

    it("redirects to the form with the trailing slash, keeping the query", function()
        redirect("GET", "/dir", "/dir/")
        redirect("GET", "/dir?a=1&b=%20", "/dir/?a=1&b=%20")
    end)

    it("redirects to the form without it, for the request's method, escapes kept", function()
        redirect("GET", "/plain/", "/plain")
        redirect("POST", "/items/", "/items")
        redirect("GET", "/items/a%2Fb/?x=1", "/items/a%2Fb?x=1")
    end)

    it("does not redirect when the other form has no route for the method", function()
        local res = assert(srv:fetch(S.get("/items/")))
        assert.are.equal(404, res.status)
        assert.is_nil(res:header("Location"))
        assert.are.equal("not found\n", res.body)
    end)

    it("answers 404 for an empty segment before the end, without a redirect", function()
        for _, target in ipairs({ "/a//b", "//plain", "/plain//", "//", "/items//7" }) do
            local res = assert(srv:fetch(S.get(target)))
            assert.are.equal(404, res.status, target)
            assert.is_nil(res:header("Location"), target)
            assert.are.equal("not found\n", res.body, target)
        end
    end)
end)
