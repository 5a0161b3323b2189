-- lunaserve.crypto.hmac_sha256 / hmac_sha1: RFC 4231's and RFC 2202's test cases, keys longer
-- than a block, and the empty key and message.
local C = require("spec.support.crypto")

local function bytes(...)
    return string.char(...)
end

local LONG_KEY_MSG = "Test Using Larger Than Block-Size Key - Hash Key First"
local LONG_DATA = "This is a test using a larger than block-size key and a larger than block-size "
    .. "data. The key needs to be hashed before being used by the HMAC algorithm."

-- { name, key, data, expected hex (case 5: the first 128 bits, as the RFC truncates) }
local rfc4231 = {
    { "1", ("\x0b"):rep(20), "Hi There",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
    { "2", "Jefe", "what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
    { "3", ("\xaa"):rep(20), ("\xdd"):rep(50),
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
    { "4", bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
        23, 24, 25), ("\xcd"):rep(50),
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
    { "5", ("\x0c"):rep(20), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b" },
    { "6", ("\xaa"):rep(131), LONG_KEY_MSG,
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
    { "7", ("\xaa"):rep(131), LONG_DATA,
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
}

local rfc2202 = {
    { "1", ("\x0b"):rep(20), "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00" },
    { "2", "Jefe", "what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },
    { "3", ("\xaa"):rep(20), ("\xdd"):rep(50), "125d7342b9ac11cd91a39af48aa17b4f63f175d3" },
    { "6", ("\xaa"):rep(80), LONG_KEY_MSG, "aa4ae5e15272d00e95705637ce8a3b55ed402112" },
}

describe("crypto HMAC", function()
    local srv

    setup(function()
        srv = C.start()
    end)

    teardown(function()
        srv:stop_ok()
    end)

    for _, v in ipairs(rfc4231) do
        it("hmac_sha256 gives RFC 4231 test case " .. v[1], function()
            local n, mac = C.ok(srv, "hmac_sha256", v[2], v[3])
            assert.are.equal(1, n)
            assert.are.equal(32, #mac)
            assert.are.equal(v[4], C.hex(mac):sub(1, #v[4]))
        end)
    end

    for _, v in ipairs(rfc2202) do
        it("hmac_sha1 gives RFC 2202 test case " .. v[1], function()
            local n, mac = C.ok(srv, "hmac_sha1", v[2], v[3])
            assert.are.equal(1, n)
            assert.are.equal(v[4], C.hex(mac))
        end)
    end

    it("takes an empty key and an empty message", function()
        local _, m256 = C.ok(srv, "hmac_sha256", "", "")
        local _, m1 = C.ok(srv, "hmac_sha1", "", "")
        assert.are.equal("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
            C.hex(m256))
        assert.are.equal("fbdb1d1b18aa6c08324b7d64b71fb76370690e1d", C.hex(m1))
    end)

    it("raises an error without a key", function()
        local ok, err = C.call(srv, "hmac_sha256")
        assert.is_false(ok)
        assert.are.equal("bad argument #1 to 'lunaserve.crypto.hmac_sha256' "
            .. "(string expected, got no value)", err)
    end)
end)
