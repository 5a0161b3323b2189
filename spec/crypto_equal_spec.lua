-- lunaserve.crypto.equal: a constant-time comparison of two byte strings.
local C = require("spec.support.crypto")

describe("crypto equal", function()
    local srv

    setup(function()
        srv = C.start()
    end)

    teardown(function()
        srv:stop_ok()
    end)

    local function equal(a, b)
        local n, v = C.ok(srv, "equal", a, b)
        assert.are.equal(1, n)
        assert.are.equal("boolean", type(v))
        return v
    end

    it("is true for the same bytes", function()
        assert.is_true(equal("", ""))
        assert.is_true(equal("secret", "secret"))
        assert.is_true(equal("\0\255\0", "\0\255\0"))
        local mac = ("\x5a"):rep(32)
        assert.is_true(equal(mac, mac))
    end)

    it("is false when a byte differs, wherever it is", function()
        local base = ("a"):rep(32)
        for _, at in ipairs({ 1, 16, 32 }) do
            local other = base:sub(1, at - 1) .. "b" .. base:sub(at + 1)
            assert.is_false(equal(base, other))
        end
        assert.is_false(equal("\0", "\1"))
        assert.is_false(equal("a\0b", "a\0c"))
    end)

    it("is false for different lengths, a prefix included", function()
        assert.is_false(equal("abc", "abcd"))
        assert.is_false(equal("abcd", "abc"))
        assert.is_false(equal("", "a"))
        assert.is_false(equal("a\0", "a"))
    end)
end)
