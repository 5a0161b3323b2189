-- apps/todo (README, "Bundled apps"): GET /todos gives the todos a page at a time, oldest
-- first: ?limit=N (1..100, default 20) and ?after=ID; the answer says where the next page is
-- ("next" and a Link header), null on the last; bad values are 400 naming the parameter;
-- a page after a todo stays right when todos before it are deleted.
local T = require("spec.support.todo")
local cjson = require("cjson")

local JSON, call = T.JSON, T.call

-- The ids and titles of a page, its "next" and its Link header.
local function page(srv, target)
    local r = call(srv, "GET", target)
    assert.are.equal(200, r.status, target .. ": " .. r.body)
    assert.are.equal("application/json", r:header("content-type"))
    local p = cjson.decode(r.body)
    local ids = {}
    for i, t in ipairs(p.items) do
        ids[i] = math.tointeger(t.id)
        assert.are.equal("todo " .. ids[i], t.title)
    end
    return ids, p.next, r:header("link"), r
end

describe("apps/todo pagination", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = T.start()
    end)

    lazy_teardown(function()
        T.stop(pg, srv)
    end)

    local last_id = 0
    local function add(n)
        for _ = 1, n do
            last_id = last_id + 1
            local id = last_id
            local r = call(srv, "POST", "/todos", JSON, cjson.encode({ title = "todo " .. id }))
            assert.are.equal(201, r.status, r.body)
            assert.are.equal("/todos/" .. id, r:header("location"))
        end
    end

    it("answers an empty list with an empty array and no next page", function()
        local _, _, link, r = page(srv, "/todos")
        assert.are.equal('{"items":[],"next":null}', r.body)
        assert.is_nil(link)
    end)

    it("walks the pages by next, with a Link header on each but the last", function()
        add(5)
        local ids, nxt, link = page(srv, "/todos?limit=2")
        assert.are.same({ 1, 2 }, ids)
        assert.are.equal("/todos?limit=2&after=2", nxt)
        assert.are.equal('</todos?limit=2&after=2>; rel="next"', link)
        ids, nxt, link = page(srv, nxt)
        assert.are.same({ 3, 4 }, ids)
        assert.are.equal("/todos?limit=2&after=4", nxt)
        assert.are.equal('</todos?limit=2&after=4>; rel="next"', link)
        ids, nxt, link = page(srv, nxt)
        assert.are.same({ 5 }, ids)
        assert.are.equal(cjson.null, nxt)
        assert.is_nil(link)
        -- exactly a page's worth left: no next page
        ids, nxt = page(srv, "/todos?limit=1&after=4")
        assert.are.same({ 5 }, ids)
        assert.are.equal(cjson.null, nxt)
        ids, nxt = page(srv, "/todos?after=5")
        assert.are.same({}, ids)
        assert.are.equal(cjson.null, nxt)
    end)

    it("gives 20 by default and 100 at most", function()
        add(120 - 5)
        local ids, nxt = page(srv, "/todos")
        assert.are.equal(20, #ids)
        assert.are.same({ 1, 20 }, { ids[1], ids[20] })
        assert.are.equal("/todos?limit=20&after=20", nxt)
        ids, nxt = page(srv, "/todos?limit=100&after=10")
        assert.are.equal(100, #ids)
        assert.are.same({ 11, 110 }, { ids[1], ids[100] })
        assert.are.equal("/todos?limit=100&after=110", nxt)
        ids, nxt = page(srv, nxt)
        assert.are.equal(10, #ids)
        assert.are.equal(cjson.null, nxt)
    end)

    it("keeps a page right when todos before it are deleted", function()
        local ids, nxt = page(srv, "/todos?limit=3")
        assert.are.same({ 1, 2, 3 }, ids)
        for _, id in ipairs({ 2, 3, 4 }) do
            assert.are.equal(204, call(srv, "DELETE", "/todos/" .. id).status)
        end
        ids = page(srv, nxt)
        assert.are.same({ 5, 6, 7 }, ids)
        ids = page(srv, "/todos?limit=3")
        assert.are.same({ 1, 5, 6 }, ids)
    end)

    it("refuses a bad limit or after with 400 naming it", function()
        local LIMIT = { error = "limit must be a whole number from 1 to 100", field = "limit" }
        local AFTER = { error = "after must be the id of a todo (a whole number, 0 or more)",
            field = "after" }
        for query, want in pairs({
            ["limit=0"] = LIMIT, ["limit=101"] = LIMIT, ["limit=-1"] = LIMIT,
            ["limit=abc"] = LIMIT, ["limit=1.5"] = LIMIT, ["limit="] = LIMIT,
            ["limit=1e2"] = LIMIT, ["limit=0010"] = LIMIT, ["limit=1&limit=2"] = LIMIT,
            ["limit=99999999999999999999"] = LIMIT,
            ["after=-1"] = AFTER, ["after=x"] = AFTER, ["after="] = AFTER,
            ["after=1&after=2"] = AFTER, ["after=99999999999999999999"] = AFTER,
            ["limit=5&after=%31x"] = AFTER,
        }) do
            local r = call(srv, "GET", "/todos?" .. query)
            assert.are.equal(400, r.status, query)
            assert.are.same(want, cjson.decode(r.body), query)
        end
        -- parameters it does not know are left alone
        local ids = page(srv, "/todos?limit=2&sort=desc")
        assert.are.same({ 1, 5 }, ids)
    end)
end)
