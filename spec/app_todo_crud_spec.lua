-- apps/todo (README, "Bundled apps"): create, read, update (PATCH, PUT) and delete a todo
-- over the JSON API on a real PostgreSQL: 201 with Location and ETag, 200 with the todo as
-- exact JSON bytes (fixed key order), 204 on delete, 404 for an id that is missing, 405 with
-- Allow, and the rows in the database as the API said.
local T = require("spec.support.todo")
local cjson = require("cjson")

local JSON, call = T.JSON, T.call
local TIME = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"

-- The exact bytes the API gives for a todo.
local function todo_text(id, title, done, version, created, updated)
    return string.format('{"id":%d,"title":%s,"done":%s,"version":%d,"created_at":"%s",'
        .. '"updated_at":"%s"}', id, cjson.encode(title), tostring(done), version, created,
        updated)
end

describe("apps/todo CRUD", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = T.start()
    end)

    lazy_teardown(function()
        T.stop(pg, srv)
    end)

    it("creates, reads, patches, puts and deletes a todo", function()
        -- create
        local r = call(srv, "POST", "/todos", JSON, '{"title":"milk"}')
        assert.are.equal(201, r.status, r.body)
        assert.are.equal("/todos/1", r:header("location"))
        assert.are.equal('"1-1"', r:header("etag"))
        assert.are.equal("application/json", r:header("content-type"))
        assert.are.equal("no-cache", r:header("cache-control"))
        local t = cjson.decode(r.body)
        assert.is_truthy(t.created_at:match(TIME), t.created_at)
        local created = t.created_at
        assert.are.equal(todo_text(1, "milk", false, 1, created, created), r.body)

        -- read
        r = call(srv, "GET", "/todos/1")
        assert.are.equal(200, r.status)
        assert.are.equal('"1-1"', r:header("etag"))
        assert.are.equal("application/json", r:header("content-type"))
        assert.are.equal(todo_text(1, "milk", false, 1, created, created), r.body)

        -- HEAD: the same head, no body
        r = call(srv, "HEAD", "/todos/1")
        assert.are.equal(200, r.status)
        assert.are.equal('"1-1"', r:header("etag"))
        assert.are.equal("", r.body)

        -- PATCH one field: the other stays, the version goes up
        r = call(srv, "PATCH", "/todos/1", JSON, '{"done":true}')
        assert.are.equal(200, r.status, r.body)
        assert.are.equal('"1-2"', r:header("etag"))
        local updated = cjson.decode(r.body).updated_at
        assert.is_truthy(updated:match(TIME), updated)
        assert.is_true(updated >= created, updated .. " < " .. created)
        assert.are.equal(todo_text(1, "milk", true, 2, created, updated), r.body)

        -- PUT both fields (read-only fields in the body are ignored)
        r = call(srv, "PUT", "/todos/1", JSON,
            '{"id":1,"version":2,"title":"oat milk \\"barista\\"","done":false}')
        assert.are.equal(200, r.status, r.body)
        assert.are.equal('"1-3"', r:header("etag"))
        updated = cjson.decode(r.body).updated_at
        assert.are.equal(todo_text(1, 'oat milk "barista"', false, 3, created, updated), r.body)
        assert.are.equal(todo_text(1, 'oat milk "barista"', false, 3, created, updated),
            call(srv, "GET", "/todos/1").body)

        -- what PostgreSQL holds
        assert.are.equal('1|oat milk "barista"|f|3',
            pg:psql("SELECT id, title, done, version FROM todos"))

        -- delete: 204, no body; then the id is missing for every method
        r = call(srv, "DELETE", "/todos/1")
        assert.are.equal(204, r.status)
        assert.are.equal("", r.body)
        assert.is_nil(r:header("content-length"))
        assert.is_nil(r:header("content-type"))
        assert.are.equal("0", pg:psql("SELECT count(*) FROM todos"))
        for _, m in ipairs({ { "GET" }, { "DELETE" }, { "PATCH", '{"done":true}' },
            { "PUT", '{"title":"x","done":true}' } }) do
            r = call(srv, m[1], "/todos/1", m[2] and JSON, m[2])
            assert.are.equal(404, r.status, m[1])
            assert.are.equal("application/json", r:header("content-type"))
            assert.are.same({ error = "no todo 1" }, cjson.decode(r.body), m[1])
        end

        -- ids go on from where they were
        r = call(srv, "POST", "/todos", JSON, '{"title":"bread","done":true}')
        assert.are.equal(201, r.status, r.body)
        assert.are.equal("/todos/2", r:header("location"))
        t = cjson.decode(r.body)
        assert.are.equal(todo_text(2, "bread", true, 1, t.created_at, t.created_at), r.body)
    end)

    it("answers 404 for a path that names no todo", function()
        for _, id in ipairs({ "0", "abc", "-1", "1.5", "99999999999999999999", "12345" }) do
            local r = call(srv, "GET", "/todos/" .. id)
            assert.are.equal(404, r.status, id)
            assert.are.same({ error = "no todo " .. id }, cjson.decode(r.body), id)
        end
        local r = call(srv, "GET", "/nothing")
        assert.are.equal(404, r.status)
    end)

    it("answers 405 with Allow for a method the path has no route for", function()
        local r = call(srv, "POST", "/todos/1", JSON, '{"title":"x"}')
        assert.are.equal(405, r.status)
        assert.are.equal("DELETE, GET, HEAD, PATCH, PUT", r:header("allow"))
        r = call(srv, "DELETE", "/todos")
        assert.are.equal(405, r.status)
        assert.are.equal("GET, HEAD, POST", r:header("allow"))
        r = call(srv, "PUT", "/")
        assert.are.equal(405, r.status)
        assert.are.equal("GET, HEAD", r:header("allow"))
    end)
end)
