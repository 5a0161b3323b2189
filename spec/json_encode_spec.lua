-- res:json and lunaserve.json's encoder: exact bytes on the wire, "/" as is, an explicit
-- empty array (lua-cjson 2.1 has none).
local S = require("spec.support.server")

local APP = S.app("json.lua")

describe("res:json", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("res:json answers 200 application/json with Content-Length, / as is, [] for marked arrays",
        function()
            local res = assert(srv:fetch(S.get("/value")))
            assert.are.equal(200, res.status)
            assert.are.equal("application/json", res:header("content-type"))
            assert.are.equal("length", res.framing)
            assert.are.equal(tostring(#res.body), res:header("content-length"))
            -- key order is cjson's (hash order): each member once, and nothing else
            local members = { '"list":[1,2]', '"name":"a/b"', '"none":[]', '"obj":{}',
                '"tags":[]' }
            local rest = res.body:sub(2, -2)
            assert.are.equal("{", res.body:sub(1, 1))
            assert.are.equal("}", res.body:sub(-1))
            for _, m in ipairs(members) do
                local a, b = rest:find(m, 1, true)
                assert.is_truthy(a, m .. " missing in " .. res.body)
                rest = rest:sub(1, a - 1) .. rest:sub(b + 1)
            end
            assert.are.equal(",,,,", rest)
        end)

    it("res:json takes a status, and an empty array as the whole value", function()
        local res = assert(srv:fetch(S.get("/created")))
        assert.are.equal(201, res.status)
        assert.are.equal("[]", res.body)
        res = assert(srv:fetch(S.get("/string")))
        assert.are.equal('"</script>"', res.body)
    end)

    it("a value JSON cannot hold is the handler's error: 500", function()
        local res = assert(srv:fetch(S.get("/bad-value")))
        assert.are.equal(500, res.status)
        assert.is_truthy(srv:log():find("Cannot serialise function", 1, true), srv:log())
    end)
end)
