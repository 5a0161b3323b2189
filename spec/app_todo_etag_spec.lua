-- apps/todo (README, "Bundled apps"): conditional requests by ETag. GET of a todo and of a
-- page of the list carry a strong ETag; If-None-Match that matches (weak comparison, or *)
-- gives 304 with the ETag and no body; a change gives a new ETag. If-Match on PATCH, PUT and
-- DELETE (strong comparison) gives 412 with the current ETag when the todo has changed, and
-- changes nothing.
local T = require("spec.support.todo")
local cjson = require("cjson")

local call, json_headers = T.call, T.json_headers

-- A 304: the ETag, no body and none of the body's fields.
local function assert_not_modified(r, etag)
    assert.are.equal(304, r.status, r.raw_head)
    assert.are.equal(etag, r:header("etag"))
    assert.are.equal("no-cache", r:header("cache-control"))
    assert.are.equal("", r.body)
    assert.is_nil(r:header("content-length"), r.raw_head)
    assert.is_nil(r:header("content-type"), r.raw_head)
    assert.is_nil(r:header("transfer-encoding"), r.raw_head)
end

describe("apps/todo ETags", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = T.start()
    end)

    lazy_teardown(function()
        T.stop(pg, srv)
    end)

    it("answers If-None-Match on a todo with 304 while it is unchanged", function()
        local r = call(srv, "POST", "/todos", json_headers(), '{"title":"milk"}')
        assert.are.equal(201, r.status, r.body)
        local body = r.body
        for _, inm in ipairs({ '"1-1"', 'W/"1-1"', '*', '"x", "1-1"', '"0-1","1-1" , "2-1"' }) do
            assert_not_modified(call(srv, "GET", "/todos/1", { ["If-None-Match"] = inm }), '"1-1"')
            assert_not_modified(call(srv, "HEAD", "/todos/1", { ["If-None-Match"] = inm }), '"1-1"')
        end
        for _, inm in ipairs({ '"1-2"', '"11-1"', '"1-1', 'W/"2-1"', '1-1' }) do
            r = call(srv, "GET", "/todos/1", { ["If-None-Match"] = inm })
            assert.are.equal(200, r.status, inm)
            assert.are.equal('"1-1"', r:header("etag"))
            assert.are.equal(body, r.body)
        end

        -- a change: the old ETag gets the new todo, the new one 304
        r = call(srv, "PATCH", "/todos/1", json_headers(), '{"title":"oat milk"}')
        assert.are.equal(200, r.status, r.body)
        assert.are.equal('"1-2"', r:header("etag"))
        local patched = r.body
        r = call(srv, "GET", "/todos/1", { ["If-None-Match"] = '"1-1"' })
        assert.are.equal(200, r.status)
        assert.are.equal('"1-2"', r:header("etag"))
        assert.are.equal(patched, r.body)
        assert_not_modified(call(srv, "GET", "/todos/1", { ["If-None-Match"] = '"1-2"' }), '"1-2"')
        -- a missing todo is 404 whatever If-None-Match says
        r = call(srv, "GET", "/todos/7", { ["If-None-Match"] = "*" })
        assert.are.equal(404, r.status)
    end)

    it("gives a page of the list an ETag that changes with its content", function()
        local r = call(srv, "GET", "/todos")
        assert.are.equal(200, r.status)
        local etag = r:header("etag")
        assert.is_truthy(etag:match('^"%x+"$'), etag)
        assert.are.equal(34, #etag)
        assert.are.equal("no-cache", r:header("cache-control"))
        -- the same content, the same bytes and ETag
        local again = call(srv, "GET", "/todos")
        assert.are.equal(etag, again:header("etag"))
        assert.are.equal(r.body, again.body)
        assert_not_modified(call(srv, "GET", "/todos", { ["If-None-Match"] = etag }), etag)
        assert_not_modified(call(srv, "GET", "/todos", { ["If-None-Match"] = "W/" .. etag }), etag)

        -- a new todo, a changed todo: each a new ETag, and the old one gets 200
        local seen = { [etag] = true }
        local first, first_body = etag, r.body
        local function changed()
            local now = call(srv, "GET", "/todos", { ["If-None-Match"] = etag })
            assert.are.equal(200, now.status)
            local e = now:header("etag")
            assert.is_nil(seen[e], "an ETag seen before: " .. e)
            seen[e] = true
            etag = e
            return cjson.decode(now.body)
        end
        r = call(srv, "POST", "/todos", json_headers(), '{"title":"bread"}')
        assert.are.equal(201, r.status)
        assert.are.equal(2, #changed().items)
        r = call(srv, "PATCH", "/todos/2", json_headers(), '{"done":true}')
        assert.are.equal(200, r.status)
        assert.is_true(changed().items[2].done)
        -- a page of it has its own
        r = call(srv, "GET", "/todos?limit=1")
        assert.are.equal(200, r.status)
        assert.is_nil(seen[r:header("etag")])
        -- deleted: the list is as it was at first, and so are its bytes and ETag
        r = call(srv, "DELETE", "/todos/2")
        assert.are.equal(204, r.status)
        local now = call(srv, "GET", "/todos", { ["If-None-Match"] = etag })
        assert.are.equal(200, now.status)
        assert.are.equal(first, now:header("etag"))
        assert.are.equal(first_body, now.body)
    end)

    it("refuses PATCH, PUT and DELETE with 412 when If-Match no longer matches", function()
        local r = call(srv, "POST", "/todos", json_headers(), '{"title":"eggs"}')
        assert.are.equal(201, r.status, r.body)
        local target, id = r:header("location"), cjson.decode(r.body).id
        local v1 = string.format('"%d-1"', id)
        r = call(srv, "PATCH", target, json_headers({ ["If-Match"] = v1 }), '{"done":true}')
        assert.are.equal(200, r.status, r.body)
        local v2 = string.format('"%d-2"', id)
        assert.are.equal(v2, r:header("etag"))
        local current = r.body

        local want = { error = "the todo has changed since (If-Match): its ETag is now " .. v2 }
        for _, im in ipairs({ v1, "W/" .. v2, '"1-2"', '"x"' }) do
            r = call(srv, "PATCH", target, json_headers({ ["If-Match"] = im }), '{"done":false}')
            assert.are.equal(412, r.status, im)
            assert.are.equal(v2, r:header("etag"))
            assert.are.same(want, cjson.decode(r.body))
            r = call(srv, "PUT", target, json_headers({ ["If-Match"] = im }),
                '{"title":"x","done":false}')
            assert.are.equal(412, r.status, im)
            assert.are.same(want, cjson.decode(r.body))
            r = call(srv, "DELETE", target, { ["If-Match"] = im })
            assert.are.equal(412, r.status, im)
            assert.are.same(want, cjson.decode(r.body))
        end
        assert.are.equal(current, call(srv, "GET", target).body) -- nothing changed

        -- a list that holds the current ETag, and *, match
        r = call(srv, "PUT", target, json_headers({ ["If-Match"] = v1 .. ", " .. v2 }),
            '{"title":"brown eggs","done":false}')
        assert.are.equal(200, r.status, r.body)
        local v3 = string.format('"%d-3"', id)
        assert.are.equal(v3, r:header("etag"))
        r = call(srv, "PATCH", target, json_headers({ ["If-Match"] = "*" }), '{"done":true}')
        assert.are.equal(200, r.status, r.body)
        local v4 = string.format('"%d-4"', id)
        r = call(srv, "DELETE", target, { ["If-Match"] = v3 })
        assert.are.equal(412, r.status)
        r = call(srv, "DELETE", target, { ["If-Match"] = v4 })
        assert.are.equal(204, r.status)
        -- gone: 404, whatever If-Match says
        r = call(srv, "DELETE", target, { ["If-Match"] = v4 })
        assert.are.equal(404, r.status)
        r = call(srv, "PATCH", target, json_headers({ ["If-Match"] = "*" }), '{"done":true}')
        assert.are.equal(404, r.status)
    end)
end)
