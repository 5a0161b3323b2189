-- A client that leaves before the handler upgrades: upgrade returns nil, "closed", and the
-- server goes on serving.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket client gone before the upgrade", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_late_upgrade.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("upgrade returns nil, 'closed'", function()
        local c = srv:connect()
        assert(c:send(W.request("/")))
        S.sleep(0.05)
        c:close()
        local res
        assert(S.wait_for(function()
            res = assert(srv:fetch(S.get("/result")))
            return res.body ~= "none"
        end, 5))
        assert.are.equal("nil closed", res.body)
        -- and a client that stays is upgraded
        local c2 = W.open(srv)
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1000)), c2:receive_exact(4, 5))
        c2:close()
        res = assert(srv:fetch(S.get("/result")))
        assert.are.equal("ok", res.body)
    end)
end)
