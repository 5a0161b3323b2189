-- lunaserve.crypto.random_bytes: exactly n bytes, different on every call.
local C = require("spec.support.crypto")

describe("crypto random_bytes", function()
    local srv

    setup(function()
        srv = C.start()
    end)

    teardown(function()
        srv:stop_ok()
    end)

    it("gives exactly n bytes", function()
        for _, n in ipairs({ 0, 1, 16, 32, 1000, 65536 }) do
            local count, r = C.ok(srv, "random_bytes", n)
            assert.are.equal(1, count)
            assert.are.equal(n, #r)
        end
    end)

    it("gives different bytes on two calls", function()
        local _, a = C.ok(srv, "random_bytes", 32)
        local _, b = C.ok(srv, "random_bytes", 32)
        assert.are_not.equal(a, b)
    end)

    it("spreads its bytes: 64 KiB take at least 250 of the 256 values", function()
        local _, r = C.ok(srv, "random_bytes", 65536)
        local seen, distinct = {}, 0
        for i = 1, #r do
            local b = r:byte(i)
            if not seen[b] then
                seen[b], distinct = true, distinct + 1
            end
        end
        assert.is_true(distinct >= 250, distinct .. " distinct byte values")
    end)

    it("raises an error for a negative or fractional n", function()
        local ok, err = C.call(srv, "random_bytes", -1)
        assert.is_false(ok)
        assert.are.equal("bad argument #1 to 'lunaserve.crypto.random_bytes' (out of range)", err)
        ok, err = C.call(srv, "random_bytes", 1.5)
        assert.is_false(ok)
        assert.are.equal("bad argument #1 to 'lunaserve.crypto.random_bytes' "
            .. "(number has no integer representation)", err)
    end)
end)
