-- lunaserve.crypto.sha1 / sha256: raw digests that match FIPS 180's examples, the empty
-- input and a million-byte input.
local S = require("spec.support.server")
local C = require("spec.support.crypto")

local ABC448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

local vectors = {
    sha1 = {
        { "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
        { "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
        { ABC448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
        { C.rep("a", 1000000), "34aa973cd4c4daa4f61eeb2bdbad27316534016f" },
    },
    sha256 = {
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { ABC448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { C.rep("a", 1000000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
    },
}

describe("crypto digests", function()
    local srv

    setup(function()
        srv = C.start()
    end)

    teardown(function()
        srv:stop_ok()
    end)

    for _, alg in ipairs({ "sha1", "sha256" }) do
        for i, v in ipairs(vectors[alg]) do
            local input, want = v[1], v[2]
            it(alg .. " of FIPS 180 input #" .. i .. " is " .. want .. " as raw bytes", function()
                local n, digest = C.ok(srv, alg, input)
                assert.are.equal(1, n)
                assert.are.equal(#want / 2, #digest)
                assert.are.equal(want, C.hex(digest))
            end)
        end
    end

    -- (expected values from Python's hashlib)
    it("hashes every byte of an input that is not text (NUL, 0xff)", function()
        local _, d1 = C.ok(srv, "sha1", "\0\255\0")
        local _, d256 = C.ok(srv, "sha256", "\0\255\0")
        assert.are.equal("35a7ea9b5563f39b3283cded62110b88f0bbbb05", C.hex(d1))
        assert.are.equal("2c8d07cd986f58eb210bd800133d6645c7340c59865377c8ea431cebca0b3113",
            C.hex(d256))
    end)
end)
