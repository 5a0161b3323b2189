-- lunaserve.crypto base64 (RFC 4648 section 4, padded) and base64url (section 5, unpadded):
-- the RFC's vectors, every byte value both ways, and bad input answered with nil, err.
local C = require("spec.support.crypto")

local rfc4648 = {
    { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
    { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
}

-- Decodes `s` with `fn` in the server: the bytes, or nil and the error.
local function decode(srv, fn, s)
    local n, v, err = C.ok(srv, fn, s)
    assert.are.equal(v == nil and 2 or 1, n)
    return v, err
end

describe("crypto base64", function()
    local srv

    setup(function()
        srv = C.start()
    end)

    teardown(function()
        srv:stop_ok()
    end)

    for _, v in ipairs(rfc4648) do
        it("encodes and decodes RFC 4648's " .. C.hex(v[1]) .. " <-> '" .. v[2] .. "'", function()
            local _, enc = C.ok(srv, "base64_encode", v[1])
            assert.are.equal(v[2], enc)
            assert.are.equal(v[1], decode(srv, "base64_decode", v[2]))
            local url = v[2]:gsub("=", "")
            local _, uenc = C.ok(srv, "base64url_encode", v[1])
            assert.are.equal(url, uenc)
            assert.are.equal(v[1], decode(srv, "base64url_decode", url))
            assert.are.equal(v[1], decode(srv, "base64url_decode", v[2])) -- padded: taken too
        end)
    end

    it("uses + and / in base64, - and _ in base64url", function()
        local _, std = C.ok(srv, "base64_encode", "\xfb\xff\xbf")
        local _, url = C.ok(srv, "base64url_encode", "\xfb\xff\xbf")
        assert.are.equal("+/+/", std)
        assert.are.equal("-_-_", url)
        assert.are.equal("\xfb\xff\xbf", decode(srv, "base64_decode", "+/+/"))
        assert.are.equal("\xfb\xff\xbf", decode(srv, "base64url_decode", "-_-_"))
    end)

    it("round-trips all 256 byte values", function()
        local all = {}
        for i = 0, 255 do
            all[#all + 1] = string.char(i)
        end
        all = table.concat(all)
        for _, pair in ipairs({ { "base64_encode", "base64_decode" },
            { "base64url_encode", "base64url_decode" } }) do
            local _, enc = C.ok(srv, pair[1], all)
            assert.are.equal(all, decode(srv, pair[2], enc))
        end
    end)

    local bad_std = {
        { "Zm9", "invalid base64: bad length 3" },
        { "Zg=", "invalid base64: bad length 3" },
        { "Z===", "invalid base64: bad character at byte 2" },
        { "Zm9vY", "invalid base64: bad length 5" },
        { "Zm9v!A==", "invalid base64: bad character at byte 5" },
        { "Zm9v\nZm9v", "invalid base64: bad length 9" },
        { "Zm9vZm9v\r\n", "invalid base64: bad length 10" },
        { "Zm 9", "invalid base64: bad character at byte 3" },
        { "Zg==Zg==", "invalid base64: bad character at byte 3" },
        { "=Zm9", "invalid base64: bad character at byte 1" },
        { "Zh==", "invalid base64: non-zero trailing bits at byte 2" },
        { "Zm9=", "invalid base64: non-zero trailing bits at byte 3" },
        { "-_-_", "invalid base64: bad character at byte 1" },
        { "Zm9v\0", "invalid base64: bad length 5" },
        { "Zm\0v", "invalid base64: bad character at byte 3" },
    }
    for _, v in ipairs(bad_std) do
        it("base64_decode answers nil, '" .. v[2] .. "' for " .. string.format("%q", v[1]),
            function()
                local val, err = decode(srv, "base64_decode", v[1])
                assert.is_nil(val)
                assert.are.equal(v[2], err)
            end)
    end

    local bad_url = {
        { "Z", "invalid base64: bad length 1" },
        { "Zg=", "invalid base64: bad length 3" },
        { "Zm9vY", "invalid base64: bad length 5" },
        { "+/+/", "invalid base64: bad character at byte 1" },
        { "Zg.g", "invalid base64: bad character at byte 3" },
        { "Zh", "invalid base64: non-zero trailing bits at byte 2" },
    }
    for _, v in ipairs(bad_url) do
        it("base64url_decode answers nil, '" .. v[2] .. "' for " .. string.format("%q", v[1]),
            function()
                local val, err = decode(srv, "base64url_decode", v[1])
                assert.is_nil(val)
                assert.are.equal(v[2], err)
            end)
    end
end)
