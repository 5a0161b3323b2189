-- The close frame's code (RFC 6455 7.4): a valid code is echoed; a code that may not appear
-- on the wire (1005, 1006, 1015, reserved or out of range) and a 1-byte payload close with
-- 1002; a reason that is not UTF-8 closes with 1007. Each ends with FIN.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket close codes", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function answer_to(payload)
        local rest, kind = W.until_end(srv, W.frame(W.CLOSE, payload))
        assert.are.equal("fin", kind)
        return rest
    end

    it("echoes every valid code", function()
        for _, code in ipairs({ 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
            1013, 1014, 3000, 3999, 4000, 4999 }) do
            assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(code)),
                answer_to(W.close_payload(code, "reason")), "code " .. code)
        end
    end)

    it("closes with 1002 for codes not allowed on the wire", function()
        for _, code in ipairs({ 0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
            65535 }) do
            assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1002)),
                answer_to(W.close_payload(code)), "code " .. code)
        end
    end)

    it("closes with 1002 for a 1-byte close payload", function()
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1002)), answer_to("\3"))
    end)

    it("closes with 1007 for a reason that is not UTF-8", function()
        assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1007)),
            answer_to(W.close_payload(1000, "bad \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")))
    end)

    it("closes with 1002 for reserved control opcodes 11 to 15", function()
        for op = 11, 15 do
            local rest, kind = W.until_end(srv, W.frame(op, ""))
            assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1002)), rest, "opcode " .. op)
            assert.are.equal("fin", kind)
        end
    end)
end)
