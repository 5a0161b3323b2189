-- libcrypto is loaded the first time an app hashes, signs, compares or draws random bytes
-- through lunaserve.crypto, not when the server starts (linking it cost every server about
-- 1.4 MiB of resident memory); base64 and hex alone never load it.

local S = require("spec.support.server")

local function get(srv, path)
    local c = srv:connect()
    assert(c:send(S.get(path)))
    local res = assert(c:read_response({ timeout = 5 }))
    c:close()
    assert.are.equal(200, res.status, res.body)
    return res.body
end

describe("libcrypto", function()
    local dir, srv

    before_each(function()
        dir = S.mktempdir()
    end)

    after_each(function()
        if srv then
            srv:stop_ok()
            srv = nil
        end
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    it("is not in a server whose app does not use lunaserve.crypto", function()
        srv = S.start() -- apps/hello
        assert.is_false(srv:maps_library("libcrypto"))
    end)

    it("is loaded by the first digest, not by require or base64", function()
        local app = dir .. "/app.lua"
        S.write_file(app, 'local crypto = require("lunaserve.crypto")\n'
            .. 'return function(req, res)\n'
            .. '  if req.path == "/sha256" then\n'
            .. '    return res:finish(crypto.to_hex(crypto.sha256("abc")))\n'
            .. '  end\n'
            .. '  res:finish(crypto.base64_encode(assert(crypto.from_hex("666f6f"))))\n'
            .. 'end\n')
        srv = S.start({ app = app })
        assert.is_false(srv:maps_library("libcrypto"))
        assert.are.equal("Zm9v", get(srv, "/base64"))
        assert.is_false(srv:maps_library("libcrypto"))
        assert.are.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            get(srv, "/sha256"))
        assert.is_true(srv:maps_library("libcrypto"))
    end)
end)
