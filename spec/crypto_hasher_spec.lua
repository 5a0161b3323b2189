-- lunaserve.crypto.hasher: update() in pieces gives what the one-shot digest gives, including
-- a request body hashed chunk by chunk as it streams in; a hasher gives one digest only.
local S = require("spec.support.server")
local C = require("spec.support.crypto")

describe("crypto hasher", function()
    local srv

    setup(function()
        srv = C.start()
    end)

    teardown(function()
        srv:stop_ok()
    end)

    for _, alg in ipairs({ "sha1", "sha256" }) do
        it(alg .. ": pieces of every size give the one-shot digest", function()
            local input = ""
            for i = 0, 300 do
                input = input .. string.char(i % 256)
            end
            local _, whole = C.ok(srv, alg, input)
            -- pieces of 1, 2, 3, ... bytes, crossing the 64-byte blocks at every offset
            local pieces, at, size = {}, 1, 1
            while at <= #input do
                pieces[#pieces + 1] = input:sub(at, at + size - 1)
                at, size = at + size, size + 1
            end
            local _, streamed = C.ok(srv, "hash_pieces", alg, table.unpack(pieces))
            assert.are.equal(C.hex(whole), C.hex(streamed))
            local _, two = C.ok(srv, "hash_pieces", alg, input:sub(1, 64), input:sub(65))
            assert.are.equal(C.hex(whole), C.hex(two))
        end)
    end

    it("with no update gives the empty input's digest", function()
        local _, d = C.ok(srv, "hash_pieces", "sha256")
        assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            C.hex(d))
    end)

    it("with empty pieces between others gives the one-shot digest", function()
        local _, d = C.ok(srv, "hash_pieces", "sha1", "", "a", "", "bc", "")
        assert.are.equal("a9993e364706816aba3e25717850c26c9cd0d89d", C.hex(d))
    end)

    it("of a 1 MiB input in 1000-byte pieces equals the one-shot digest", function()
        local _, whole = C.ok(srv, "sha256", C.rep("\1\2\3\4", 262144))
        local pieces = {}
        for i = 1, 1048 do
            pieces[i] = C.rep("\1\2\3\4", 250)
        end
        pieces[#pieces + 1] = C.rep("\1\2\3\4", 144) -- 1048 * 1000 + 576 = 1048576
        local _, streamed = C.ok(srv, "hash_pieces", "sha256", table.unpack(pieces))
        assert.are.equal(C.hex(whole), C.hex(streamed))
        -- (Python's hashlib)
        assert.are.equal("92b717bc56949ff7a6e9f64ef198289f704704b4785dfcb22f6aa9755ddd6df3",
            C.hex(streamed))
    end)

    it("hashes a chunked upload of a million 'a' as it streams (FIPS 180's vector)", function()
        local pieces = {}
        for i = 1, 100 do
            pieces[i] = ("a"):rep(10000)
        end
        local c = srv:connect()
        assert(c:send(S.request("POST", "/upload/sha256", { { "Transfer-Encoding", "chunked" } })
            .. S.chunked(pieces)))
        local res = assert(c:read_response({ timeout = 10 }))
        c:close()
        assert.are.equal(200, res.status, res.body)
        local digest, chunks = res.body:match("^(%x+) (%d+)$")
        assert.are.equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", digest)
        assert.is_true(tonumber(chunks) > 1, "the body came in one read: " .. res.body)
    end)

    it("raises an error on update() or final() after final()", function()
        for _, call in ipairs({ "update", "final" }) do
            local ok, err = C.call(srv, "hasher_after_final", "sha256", call)
            assert.is_false(ok)
            assert.are.equal("hasher:" .. call .. "(): the hasher is finished (final() ran, "
                .. "or it was closed)", err:match("hasher:.*$"))
        end
    end)

    it("dropped without final() is freed by the collector (a clean exit under ASan)", function()
        local n, done = C.ok(srv, "hasher_dropped", "sha256", 100)
        assert.are.equal(1, n)
        assert.is_true(done)
        -- (teardown's stop_ok asserts the exit status and no sanitizer report)
    end)

    it("as a to-be-closed variable is closed at the end of its scope", function()
        local ok, err = C.call(srv, "hasher_closed", "sha1")
        assert.is_false(ok)
        assert.are.equal("hasher:update(): the hasher is finished (final() ran, or it was closed)",
            err:match("hasher:.*$"))
    end)

    it("raises an error for an algorithm it does not have", function()
        local ok, err = C.call(srv, "hasher", "md5")
        assert.is_false(ok)
        assert.are.equal("bad argument #1 to 'lunaserve.crypto.hasher' (invalid option 'md5')",
            err)
    end)
end)
