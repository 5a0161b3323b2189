-- lunaserve.form (plain Lua): percent-decoding, query strings and urlencoded bodies, with
-- repeated names kept and hostile input bounded.
package.path = "lua/?.lua;" .. package.path
local form = require("lunaserve.form")

describe("lunaserve.form", function()
    it("parses fields in order, + as space, lenient escapes, empty pieces skipped", function()
        assert.are.same({ { "a", "1" }, { "b", "x y" }, { "c", "" }, { "d e", "%zz%4" }, { "", "v" } },
            form.pairs("a=1&&b=x+y&c&d+e=%zz%4&=v"))
        assert.are.same({}, form.pairs(""))
        assert.are.same({}, form.pairs(nil))
    end)

    it("keeps a repeated name's values in order", function()
        assert.are.same({ a = { "1", "2", "3" }, b = "x" }, form.parse("a=1&b=x&a=2&a=3"))
    end)

    it("splits at the first = only, and decodes escaped separators inside values", function()
        assert.are.same({ k = "a=b&c", ["x&y"] = "1=2" }, form.parse("k=a%3Db%26c&x%26y=1=2"))
    end)

    it("refuses more than MAX_FIELDS fields", function()
        local many = string.rep("a=1&", 1001)
        local t, err = form.parse(many)
        assert.is_nil(t)
        assert.are.equal("too many fields (more than 1000)", err)
        assert.are.equal(3, #assert(form.pairs("a&b&c", { max_fields = 3 })))
        assert.is_nil((form.pairs("a&b&c&d", { max_fields = 3 })))
    end)

    it("unescapes strictly for paths: %2e%2e and %00 decode, bad escapes are errors", function()
        assert.are.equal("../\0x", form.unescape("%2e%2E%2F%00x"))
        assert.are.equal("a+b", form.unescape("a+b"))
        for _, bad in ipairs({ "%", "%2", "%zz", "a%2g", "%%41" }) do
            local s, err = form.unescape(bad)
            assert.is_nil(s, bad)
            assert.matches("^bad percent%-escape at byte %d+$", err)
        end
    end)

    it("encodes tables as sorted, escaped fields that parse back", function()
        local t = { b = "x y&z", a = { "1", "2" }, ["é"] = "/" }
        local s = form.encode(t)
        assert.are.equal("a=1&a=2&b=x%20y%26z&%C3%A9=%2F", s)
        assert.are.same(t, form.parse(s))
    end)
end)
