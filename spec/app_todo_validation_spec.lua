-- apps/todo (README, "Bundled apps"): bad input gets 400 with a JSON error that names the
-- field ("body" for the body itself), a body that is not application/json gets 415, a body
-- over the limit 413; nothing is stored by a refused request.
local S = require("spec.support.server")
local T = require("spec.support.todo")
local cjson = require("cjson")

local JSON, call = T.JSON, T.call

local TITLE = { error = "title must be a non-empty string of at most 200 characters",
    field = "title" }
local DONE = { error = "done must be true or false", field = "done" }
local OBJECT = { error = "the body must be a JSON object", field = "body" }

describe("apps/todo validation", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = T.start()
    end)

    lazy_teardown(function()
        T.stop(pg, srv)
    end)

    local function refused(method, target, body, want, headers)
        local r = call(srv, method, target, headers or JSON, body)
        assert.are.equal(400, r.status, method .. " " .. body .. ": " .. r.body)
        assert.are.equal("application/json", r:header("content-type"))
        assert.are.same(want, cjson.decode(r.body), method .. " " .. body)
    end

    it("refuses a bad POST body with 400 naming the field, and stores nothing", function()
        local cases = {
            { '{}', TITLE },
            { '{"done":true}', TITLE },
            { '{"title":""}', TITLE },
            { '{"title":"  \\t "}', TITLE },
            { '{"title":5}', TITLE },
            { '{"title":null}', TITLE },
            { '{"title":["a"]}', TITLE },
            { '{"title":"' .. string.rep("x", 201) .. '"}', TITLE },
            { '{"title":"' .. string.rep("\u{e9}", 201) .. '"}', TITLE },
            { '{"title":"bad \255 byte"}', TITLE },
            { '{"title":"x","done":"yes"}', DONE },
            { '{"title":"x","done":0}', DONE },
            { '{"title":"x","done":null}', DONE },
            { '{"title":"x","colour":"red"}',
                { error = "unknown field colour: a todo has title and done", field = "colour" } },
            { '{"title":"x","b":1,"a":2}',
                { error = "unknown field a: a todo has title and done", field = "a" } },
            { '[1,2]', OBJECT },
            { '"milk"', OBJECT },
            { '42', OBJECT },
            { 'null', OBJECT },
        }
        for _, case in ipairs(cases) do
            refused("POST", "/todos", case[1], case[2])
        end
        assert.are.equal("0", pg:psql("SELECT count(*) FROM todos"))
    end)

    it("refuses a body that is not JSON with 400 naming the body", function()
        for body, why in pairs({
            ['{"title":"milk"'] = "Expected comma or object end but found T_END at character 16",
            ["{nope"] = "Expected object key string but found invalid token at character 2",
            ['{"title":"\\ud800"}'] =
                "Expected value but found invalid unicode escape code at character 11",
            [""] = "empty body",
        }) do
            refused("POST", "/todos", body, { error = "the body is not valid JSON: " .. why,
                field = "body" })
        end
        assert.are.equal("0", pg:psql("SELECT count(*) FROM todos"))
    end)

    it("takes a title of 200 characters, counted as characters, not bytes", function()
        local title = string.rep("\u{e9}", 200)
        local r = call(srv, "POST", "/todos", JSON, cjson.encode({ title = title }))
        assert.are.equal(201, r.status, r.body)
        assert.are.equal(title, cjson.decode(r.body).title)
        r = call(srv, "POST", "/todos", { ["Content-Type"] = "application/json; charset=utf-8" },
            '{"title":"with a charset"}')
        assert.are.equal(201, r.status, r.body)
    end)

    it("refuses a bad PATCH or PUT with 400 and leaves the todo as it was", function()
        local r = call(srv, "POST", "/todos", JSON, '{"title":"keep me"}')
        assert.are.equal(201, r.status, r.body)
        local target = r:header("location")
        local before = r.body
        refused("PATCH", target, '{}', { error = "nothing to change: give title or done",
            field = "body" })
        refused("PATCH", target, '{"id":5}', { error = "nothing to change: give title or done",
            field = "body" })
        refused("PATCH", target, '{"title":""}', TITLE)
        refused("PATCH", target, '{"done":"no"}', DONE)
        refused("PATCH", target, '{"done":true,"due":"today"}',
            { error = "unknown field due: a todo has title and done", field = "due" })
        refused("PUT", target, '{"title":"new"}', DONE)
        refused("PUT", target, '{"done":true}', TITLE)
        refused("PUT", target, '[]', TITLE)
        refused("PUT", target, '"x"', OBJECT)
        assert.are.equal(before, call(srv, "GET", target).body)
    end)

    it("answers 415 for a body that is not application/json", function()
        local want = { error = "the body must be JSON, sent with Content-Type: application/json",
            field = "Content-Type" }
        for _, headers in ipairs({
            { ["Content-Type"] = "application/x-www-form-urlencoded" },
            { ["Content-Type"] = "text/plain" },
            { ["Content-Type"] = "application/jsonx" },
            {},
        }) do
            for _, m in ipairs({ "POST", "PATCH", "PUT" }) do
                local target = m == "POST" and "/todos" or "/todos/1"
                local r = call(srv, m, target, headers, '{"title":"x","done":true}')
                assert.are.equal(415, r.status, m .. " " .. tostring(headers["Content-Type"]))
                assert.are.same(want, cjson.decode(r.body))
            end
        end
    end)

    it("answers 413 for a body over the limit, sized or chunked", function()
        local big = '{"title":"' .. string.rep("x", 1100 * 1024) .. '"}'
        local r = call(srv, "POST", "/todos", JSON, big)
        assert.are.equal(413, r.status)
        r = call(srv, "POST", "/todos", { { "Content-Type", "application/json" },
            { "Transfer-Encoding", "chunked" } }, S.chunked({ big:sub(1, 600000), big:sub(600001) }))
        assert.are.equal(413, r.status)
    end)
end)
