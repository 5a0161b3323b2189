-- req:on('data'|'end') added after the body arrived (the handler slept first) still gets it.
local S = require("spec.support.server")

describe("body listeners added late", function()
    local srv
    setup(function()
        srv = S.start({ app = "spec/apps/late_listeners.lua" })
    end)
    teardown(function()
        srv:stop_ok()
    end)

    it("delivers a body that arrived before the listeners, then 'end'", function()
        local res = assert(srv:fetch(S.request("POST", "/", { ["Content-Length"] = "5" }, "hello")))
        assert.are.equal(200, res.status)
        assert.are.equal("got:hello", res.body)
    end)

    it("fires 'end' for a request without a body", function()
        local res = assert(srv:fetch(S.get("/")))
        assert.are.equal("got:", res.body)
    end)
end)
