-- lunaserve.crypto.to_hex / from_hex: lower-case out, either case in, bad input answered with
-- nil, err.
local C = require("spec.support.crypto")

describe("crypto hex", function()
    local srv

    setup(function()
        srv = C.start()
    end)

    teardown(function()
        srv:stop_ok()
    end)

    it("encodes RFC 4648's base16 vectors in lower case", function()
        for _, v in ipairs({ { "", "" }, { "f", "66" }, { "fo", "666f" },
            { "foobar", "666f6f626172" }, { "\0\1\127\128\254\255", "00017f80feff" } }) do
            local _, h = C.ok(srv, "to_hex", v[1])
            assert.are.equal(v[2], h)
        end
    end)

    it("decodes upper, lower and mixed case", function()
        for _, s in ipairs({ "00017f80feff", "00017F80FEFF", "00017f80FeFf" }) do
            local n, v = C.ok(srv, "from_hex", s)
            assert.are.equal(1, n)
            assert.are.equal("\0\1\127\128\254\255", v)
        end
        local _, empty = C.ok(srv, "from_hex", "")
        assert.are.equal("", empty)
    end)

    it("round-trips all 256 byte values", function()
        local all = {}
        for i = 0, 255 do
            all[#all + 1] = string.char(i)
        end
        all = table.concat(all)
        local _, h = C.ok(srv, "to_hex", all)
        assert.are.equal(512, #h)
        local _, back = C.ok(srv, "from_hex", h)
        assert.are.equal(all, back)
    end)

    for _, v in ipairs({
        { "abc", "invalid hex: odd length 3" },
        { "0", "invalid hex: odd length 1" },
        { "0g", "invalid hex: bad character at byte 2" },
        { "g0", "invalid hex: bad character at byte 1" },
        { "00 1", "invalid hex: bad character at byte 3" },
        { "0x00", "invalid hex: bad character at byte 2" },
        { "ab\0c", "invalid hex: bad character at byte 3" },
    }) do
        it("from_hex answers nil, '" .. v[2] .. "' for " .. string.format("%q", v[1]), function()
            local n, val, err = C.ok(srv, "from_hex", v[1])
            assert.are.equal(2, n)
            assert.is_nil(val)
            assert.are.equal(v[2], err)
        end)
    end
end)
