-- apps/todo (README, "Bundled apps"): while PostgreSQL is down the API answers 503 with a
-- JSON error (and logs why), the server keeps running, and once PostgreSQL is back the same
-- process serves the todos again.
local S = require("spec.support.server")
local P = require("spec.support.postgres")
local cjson = require("cjson")

local APP = S.root .. "/apps/todo"

local function call(srv, method, target, headers, body)
    local c = srv:connect()
    assert(c:send(S.request(method, target, headers, body)))
    local r = assert(c:read_response({ timeout = 10 }))
    c:close()
    return r
end

describe("apps/todo with its database down", function()
    local pg, srv

    lazy_setup(function()
        pg = P.start()
        srv = S.start_beside(pg, { app = APP, env = { DATABASE_URL = pg.url } })
    end)

    lazy_teardown(function()
        S.stop_beside(pg, srv)
    end)

    it("answers 503 while PostgreSQL is down, and serves again once it is back", function()
        local r = call(srv, "POST", "/todos", { ["Content-Type"] = "application/json" },
            '{"title":"survives"}')
        assert.are.equal(201, r.status, r.body)
        local body = r.body

        pg:shutdown()
        for _, req in ipairs({ { "GET", "/todos/1" }, { "GET", "/todos" },
            { "POST", "/todos", '{"title":"lost"}' }, { "DELETE", "/todos/1" } }) do
            r = call(srv, req[1], req[2], req[3] and { ["Content-Type"] = "application/json" },
                req[3])
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
