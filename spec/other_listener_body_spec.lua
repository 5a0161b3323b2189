-- A listener for an event other than 'data'/'end' does not take the request body: a handler
-- that reads the body later (after a wait, while the body arrived) still gets all of it.
local S = require("spec.support.server")

describe("a 'finish' or 'close' listener and the request body", function()
    local srv
    lazy_setup(function()
        srv = S.start({ app = S.app("other_listener_body.lua") })
    end)
    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("leaves the body to req:body() called after the body arrived", function()
        local body = string.rep("b", 3000)
        local res = assert(srv:fetch(S.request("POST", "/", { ["Content-Length"] = "3000" }, body)))
        assert.are.equal(200, res.status)
        assert.are.equal("got:3000:nil", res.body)
    end)

    it("leaves a chunked body to req:body() too", function()
        local res = assert(srv:fetch("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            .. "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"))
        assert.are.equal(200, res.status)
        assert.are.equal("got:11:nil", res.body)
    end)
end)
