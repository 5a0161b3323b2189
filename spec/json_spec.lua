-- JSON (lunaserve.json, res:json, req:json): exact bytes on the wire, "/" unescaped, an
-- explicit empty array, and bad bodies answered with nil, err rather than an error.
local S = require("spec.support.server")

local APP = S.app("json.lua")

describe("JSON", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function post(path, body, headers)
        local c = srv:connect()
        assert(c:send(S.request("POST", path, headers or { ["Content-Type"] = "application/json" },
            body)))
        local res = assert(c:read_response())
        c:close()
        return res
    end

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

    it("req:json decodes the body; whole numbers are integers", function()
        local res = post("/echo", '{"id":3,"f":1.5,"s":"a\\/b","n":null,"t":true}')
        assert.are.equal(200, res.status)
        assert.is_truthy(res.body:find('"types":"f:float,id:integer,n:userdata,s:string,t:boolean"',
            1, true), res.body)
        assert.is_truthy(res.body:find('"s":"a/b"', 1, true), res.body)
        assert.is_truthy(res.body:find('"id":3', 1, true), res.body)
    end)

    it("req:json returns nil, err for bad JSON", function()
        local cases = {
            { "{bad", "error: Expected object key string but found invalid token at character 2" },
            { "[1,", "error: Expected value but found T_END at character 4" },
            { '{"a":1} x', "error: Expected the end but found invalid token at character 9" },
            { "\255\254", "error: Expected value but found invalid token at character 1" },
            { string.rep("[", 300) .. string.rep("]", 300),
                "error: Found too many nested data structures (201) at character 201" },
        }
        for _, case in ipairs(cases) do
            local res = post("/echo", case[1])
            assert.are.equal(400, res.status)
            assert.are.equal(case[2], res.body)
        end
    end)

    it("req:json returns nil, 'empty body' without a body", function()
        local res = post("/echo", "")
        assert.are.equal(400, res.status)
        assert.are.equal("error: empty body", res.body)
    end)

    it("req:json returns nil, err when the client leaves mid-body", function()
        local c = srv:connect()
        assert(c:send(S.request("POST", "/echo", { ["Content-Length"] = "100" }) .. '{"a":'))
        S.sleep(0.1)
        c:close()
        local last
        S.wait_for(function()
            last = assert(srv:fetch(S.get("/last-error"))).body
            return last == "aborted"
        end, 3, 0.05)
        assert.are.equal("aborted", last)
    end)

    it("json.decode returns nil, err for what is not a string", function()
        local res = post("/decode", "nul")
        assert.are.equal("true|Expected value but found invalid token at character 1", res.body)
    end)
end)
