-- req takes the fields an app or a library sets on it (req.params from lunaserve.router),
-- but not the names it answers itself (fields and methods): those raise an error.

local S = require("spec.support.server")

describe("fields set on req", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("router_basic.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("are kept for the request; req's own names cannot be set", function()
        local res = assert(srv:fetch(S.get("/req-fields")))
        assert.are.equal(200, res.status)
        assert.are.equal("method=lunaserve.req field 'method' cannot be set\n"
            .. "path=lunaserve.req field 'path' cannot be set\n"
            .. "headers=lunaserve.req field 'headers' cannot be set\n"
            .. "read=lunaserve.req field 'read' cannot be set\n"
            .. "complete=lunaserve.req field 'complete' cannot be set\n"
            .. "custom=2\n"
            .. "unset=nil\n"
            .. "method=GET\n", res.body)
    end)
end)
