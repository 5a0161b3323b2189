-- A client frame that is not masked breaks RFC 6455 5.1: the server closes with 1002
-- (protocol error), echoes nothing of it, and ends the connection.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket unmasked frame", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("closes with 1002, then FIN", function()
        local rest, kind = W.until_end(srv,
            W.frame(W.TEXT, "ok") .. W.frame(W.TEXT, "naked", { mask = false }))
        assert.are.equal(W.server_frame(W.TEXT, "ok")
            .. W.server_frame(W.CLOSE, W.close_payload(1002)), rest)
        assert.are.equal("fin", kind)
    end)

    it("closes with 1002 for a reserved bit without an extension", function()
        local rest, kind = W.until_end(srv, W.frame(W.TEXT, "rsv", { rsv = 4 }))
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1002)), rest)
        assert.are.equal("fin", kind)
    end)
end)
