-- apps/todo (README, "Bundled apps"): while PostgreSQL is down the API answers 503 with a
-- JSON error (and logs why), the server keeps running, and once PostgreSQL is back the same
-- process serves the todos again.
local T = require("spec.support.todo")
local cjson = require("cjson")

-- T.call, each response read within 10 s rather than 5
local function call(srv, method, target, headers, body)
    return T.call(srv, method, target, headers, body, 10)
end

describe("apps/todo with its database down", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = T.start()
    end)

    lazy_teardown(function()
        T.stop(pg, srv)
    end)

    it("answers 503 while PostgreSQL is down, and serves again once it is back", function()
        local r = call(srv, "POST", "/todos", T.JSON, '{"title":"survives"}')
        assert.are.equal(201, r.status, r.body)
        local body = r.body

        pg:shutdown()
        for _, req in ipairs({ { "GET", "/todos/1" }, { "GET", "/todos" },
            { "POST", "/todos", '{"title":"lost"}' }, { "DELETE", "/todos/1" } }) do
            r = call(srv, req[1], req[2], req[3] and T.JSON, req[3])
            assert.are.equal(503, r.status, req[1] .. " " .. req[2] .. ": " .. r.body)
            assert.are.equal("application/json", r:header("content-type"))
            assert.are.same({ error = "the database is unavailable" }, cjson.decode(r.body))
        end
        assert.is_true((srv:wait_log("todo: database: ", 3, 4)), srv:log())
        assert.is_true(srv:alive())

        pg:restart()
        r = call(srv, "GET", "/todos/1")
        assert.are.equal(200, r.status, r.body)
        assert.are.equal(body, r.body)
    end)
end)
