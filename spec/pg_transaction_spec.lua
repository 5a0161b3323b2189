-- lunaserve.pg's transaction helper (issue 11, "Transactions"): pool:transaction(fn) and
-- db:transaction(fn) commit what fn did when it returns, and roll it back when fn raises, when
-- a statement in it failed, or when the COMMIT fails; the rows are looked for from the side,
-- with psql. Each time the connection goes back to the pool idle, and serves the next request.

local cjson = require("cjson")
local P = require("spec.support.postgres")
local J = require("spec.support.pg_client")

-- JSON null, or absent
local function absent(v)
    return v == nil or v == cjson.null
end

describe("pg transactions", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_pool.lua")
        pg:psql("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);"
            .. " ALTER TABLE items OWNER TO app;"
            .. " CREATE TABLE tags (name text UNIQUE DEFERRABLE INITIALLY DEFERRED);"
            .. " ALTER TABLE tags OWNER TO app")
    end)

    lazy_teardown(function()
        J.stop(pg, srv)
    end)

    local function rows_named(name)
        return tonumber(pg:psql("SELECT count(*) FROM items WHERE name = '" .. name .. "'"))
    end

    -- The transaction's answer; its connection is back in the pool, idle (no transaction
    -- left open: a connection that is not idle is closed, and live would be 0).
    local function tx(via, mode, name)
        local t = J.get(srv, "/tx?via=" .. via .. "&mode=" .. mode .. "&name=" .. name)
        assert.are.same({ live = 1, idle = 1, waiting = 0 }, t.stats, J.show(t))
        if via == "db" then
            assert.are.equal("idle", t.status, J.show(t))
            assert.are.equal("idle", J.backend_state(pg, t.pid))
        end
        return t
    end

    for _, via in ipairs({ "pool", "db" }) do
        describe("through " .. via .. ":transaction", function()
            it("commits what fn did and returns what fn returned", function()
                local name = via .. "-commit"
                local t = tx(via, "commit", name)
                assert.are.equal("done", t.r1, J.show(t))
                assert.are.equal(name, t.r2, J.show(t))
                assert.are.equal(1, rows_named(name))
            end)

            it("rolls back when fn raises, and returns nil and what fn raised", function()
                local name = via .. "-raise"
                local t = tx(via, "raise", name)
                assert.is_true(absent(t.r1), J.show(t))
                assert.are.same({ code = "boom" }, t.r2, J.show(t))
                assert.are.equal(0, rows_named(name))
            end)

            it("rolls back when a statement in it failed and fn went on, and says so", function()
                local name = via .. "-statement"
                local t = tx(via, "statement", name)
                assert.is_true(absent(t.r1), J.show(t))
                assert.are.equal("the transaction was rolled back: a statement in it failed", t.r2)
                assert.are.equal("25P02", t.r3)
                assert.are.equal(0, rows_named(name))
            end)

            it("rolls back when fn raises the failing statement's error, which it returns", function()
                local name = via .. "-assert"
                local t = tx(via, "assert", name)
                assert.is_true(absent(t.r1), J.show(t))
                -- (assert adds where it was raised)
                assert.are.equal('relation "no_such_table" does not exist',
                    t.r2:match('^[^:]+:%d+: (.*)$'), J.show(t))
                assert.are.equal(0, rows_named(name))
            end)

            it("returns the COMMIT's error and sqlstate when the COMMIT fails", function()
                local name = via .. "-deferred"
                local t = tx(via, "deferred", name)
                assert.is_true(absent(t.r1), J.show(t))
                assert.are.equal('duplicate key value violates unique constraint "tags_name_key"',
                    t.r2, J.show(t))
                assert.are.equal("23505", t.r3)
                assert.are.equal(0, rows_named(name))
                assert.are.equal("0", pg:psql("SELECT count(*) FROM tags"))
            end)
        end)
    end

    it("leaves the connection to the next request as it was: the same backend, idle", function()
        local a = tx("db", "statement", "reuse-a")
        local b = tx("db", "commit", "reuse-b")
        assert.are.equal(a.pid, b.pid)
        assert.are.equal("done", b.r1)
        assert.are.equal(0, rows_named("reuse-a"))
        assert.are.equal(1, rows_named("reuse-b"))
        local w = J.get(srv, "/who")
        assert.are.equal(a.pid, w.pid)
        assert.are.equal("idle", w.status)
    end)
end)
