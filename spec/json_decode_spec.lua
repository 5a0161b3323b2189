-- req:json and json.decode: the value, or nil, err for bad JSON, an empty body or a client
-- that left; never an error.
local S = require("spec.support.server")

local APP = S.app("json.lua")

describe("req:json", function()
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

    it("json.decode returns nil, err (not an error) for bad text", function()
        local res = post("/decode", "nul")
        assert.are.equal("true|Expected value but found invalid token at character 1", res.body)
    end)
end)
