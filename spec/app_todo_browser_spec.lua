-- apps/todo (README, "Bundled apps"): the HTML page at / in headless Chromium (Debian's
-- chromium): a todo added through the page is still there after a reload (it is in
-- PostgreSQL, and the API says so); ticking it and deleting another through the page also
-- outlive a reload. A title with markup is shown as text.
local T = require("spec.support.todo")
local B = require("spec.support.browser")
local cjson = require("cjson")

local call = T.call

-- JS: the page shows the list as the server has it, with `n` todos.
local function shows(n)
    return "document.getElementById('status').textContent === " .. cjson.encode(n
        .. (n == 1 and " todo" or " todos"))
end
local TITLES = "[...document.querySelectorAll('#list li .title')].map(e => e.textContent)"
local function add(title)
    return "document.getElementById('title').value = " .. cjson.encode(title) .. ";"
        .. "document.querySelector('#add button').click(); true"
end

describe("apps/todo page", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = T.start()
    end)

    lazy_teardown(function()
        T.stop(pg, srv)
    end)

    it("keeps a todo added, ticked or deleted through the page across a reload", function()
        local url = "http://127.0.0.1:" .. srv.port .. "/"
        local first = "<b>milk</b> & eggs"
        local r = B.run({
            { open = "a", url = url },
            { wait = "a", js = shows(0) },
            { eval = "a", js = add(first) },
            { wait = "a", js = shows(1) },
            { reload = "a" },
            { wait = "a", js = shows(1) },
            { eval = "a", js = TITLES },
            { eval = "a", js = "document.querySelector('#list li .title b') === null" },
            -- tick it
            { eval = "a", js = "document.querySelector('#list li input[type=checkbox]').click(); true" },
            { wait = "a", js = "document.querySelector('#list li').className === 'done' && " .. shows(1) },
            { reload = "a" },
            { wait = "a", js = shows(1) },
            { eval = "a", js = "document.querySelector('#list li input[type=checkbox]').checked" },
            -- a second one, then delete the first
            { eval = "a", js = add("bread") },
            { wait = "a", js = shows(2) },
            { eval = "a", js = "document.querySelector('#list li .delete').click(); true" },
            { wait = "a", js = shows(1) },
            { reload = "a" },
            { wait = "a", js = shows(1) },
            { eval = "a", js = TITLES },
            { eval = "a", js = "document.getElementById('error').textContent" },
        })
        assert.are.same({ true, true, true, true, { first }, true, true, true, true, true,
            true, true, true, true, true, { "bread" }, "" }, r)

        -- the API agrees: the first was ticked (version 2), then deleted
        local list = call(srv, "GET", "/todos")
        assert.are.equal(200, list.status)
        local items = cjson.decode(list.body).items
        assert.are.equal(1, #items)
        assert.are.same({ 2, "bread", false, 1 }, { math.tointeger(items[1].id), items[1].title,
            items[1].done, math.tointeger(items[1].version) })
        assert.are.equal(404, call(srv, "GET", "/todos/1").status)
        assert.are.equal("2", pg:psql("SELECT count(*) FROM schema_migrations"))
    end)
end)
