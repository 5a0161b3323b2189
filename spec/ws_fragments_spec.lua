-- opts.fragments = true: the frames of a fragmented message come one by one ("text" first,
-- then "continuation"; err "again" until the last), an unfragmented one whole.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket fragments mode", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_fragments.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("hands out each frame of a fragmented message", function()
        local c = W.open(srv)
        assert(c:send(W.frame(W.TEXT, "ab", { fin = false }) .. W.frame(W.CONT, "cd", { fin = false })
            .. W.frame(W.CONT, "ef") .. W.frame(W.BINARY, "whole")))
        local want = W.server_frame(W.TEXT, "text:again:ab")
            .. W.server_frame(W.TEXT, "continuation:again:cd")
            .. W.server_frame(W.TEXT, "continuation:-:ef")
            .. W.server_frame(W.TEXT, "binary:-:whole")
        assert.are.equal(want, c:receive_exact(#want, 5))
        c:close()
    end)
end)
