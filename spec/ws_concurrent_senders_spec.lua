-- Two coroutines send to one WebSocket at once (the handler, and a timer of its): every frame
-- arrives whole, and each sender's messages arrive in the order it sent them.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket with two senders", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("ws_modes.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("delivers every message of both, whole and in each sender's order", function()
        local c = W.open(srv, "/two_senders")
        local next_of = { handler = 1, timer = 1 }
        local deadline = S.now() + 15
        while S.now() < deadline do
            local op, payload = W.read_frame(c, 10)
            assert(op, payload)
            assert.are.equal(W.TEXT, op)
            if payload == "end" then
                break
            end
            local who, i, fill = payload:match("^(%a+) (%d+) (%a*)$")
            assert.is_truthy(who, payload:sub(1, 40))
            i = tonumber(i)
            assert.are.equal(next_of[who], i, who)
            assert.are.equal(string.rep(who:sub(1, 1), i * 50), fill)
            next_of[who] = i + 1
        end
        assert.are.same({ handler = 201, timer = 201 }, next_of)
        assert(c:send(W.frame(W.CLOSE, W.close_payload(1000))))
        local op, payload = W.read_frame(c, 5)
        assert.are.equal(W.CLOSE, op)
        assert.are.equal(W.close_payload(1000), payload)
        c:close()
    end)
end)
