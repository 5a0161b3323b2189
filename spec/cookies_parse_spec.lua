-- req.cookies: read leniently (RFC 6265 5.4 and what user agents really send), and in
-- linear time whatever the header holds.
local S = require("spec.support.server")

local APP = S.app("cookies.lua")

describe("req.cookies", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function cookies(...)
        local headers = {}
        for _, v in ipairs({ ... }) do
            headers[#headers + 1] = { "Cookie", v }
        end
        return assert(srv:fetch(S.get("/cookies", headers))).body
    end

    it("req.cookies reads name=value pairs, made once per request", function()
        assert.are.equal("a=1\nb=two\n[same]", cookies("a=1; b=two"))
        assert.are.equal("[same]", cookies())
    end)

    it("is lenient: blanks, quotes, pairs without '=', empty names, the first of two wins",
        function()
            assert.are.equal("a=1\nb=x y\nc=q\nd=\ne==\n[same]",
                cookies(' a = 1 ;b=x y;;c="q"; junk ; =nameless; d=; e==; a=2 ;\t'))
        end)

    it("joins several Cookie fields", function()
        assert.are.equal("a=1\nb=2\n[same]", cookies("a=1", "b=2"))
    end)

    it("keeps bytes as they came (no decoding)", function()
        assert.are.equal("k=%41%20\nu=\195\169\n[same]", cookies("k=%41%20; u=\195\169"))
    end)

    it("stays linear on hostile headers", function()
        -- a long run of blanks, many pairs, a lone quote, '=' runs: all within the head limit
        local t0 = S.now()
        local blanks = string.rep(" ", 3000)
        assert.are.equal("a=x" .. blanks .. "y\n[same]", cookies("a=" .. string.rep(" ", 12000)
            .. "x" .. blanks .. "y"))
        local many = {}
        for i = 1, 1200 do
            many[#many + 1] = "c" .. i .. "=" .. i
        end
        local res = assert(srv:fetch(S.get("/count", { { "Cookie", table.concat(many, ";") } })))
        assert.are.equal("1200", res.body)
        assert.are.equal('q="\n[same]', cookies('q="'))
        assert.are.equal("[same]", cookies(string.rep("=", 14000)))
        assert.are.equal("[same]", cookies(string.rep(";", 14000)))
        assert.is_true(S.now() - t0 < 2, "took " .. (S.now() - t0) .. " s")
    end)
end)
