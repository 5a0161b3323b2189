-- SQL injection stays data with lunaserve.pg (issue 11): parameters travel apart from the SQL
-- text, so a hostile string is stored and read back as it is; db:query sends one statement
-- (the extended protocol refuses several), while db:exec runs a script on purpose. Through
-- spec/apps/pg_values.lua against a real PostgreSQL; psql checks the tables from the side.

local P = require("spec.support.postgres")
local V = require("spec.support.pg_values")

describe("lunaserve.pg and SQL injection", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_values.lua")
        pg:psql("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);"
            .. " ALTER TABLE notes OWNER TO app")
    end)

    lazy_teardown(function()
        P.stop_with_app(pg, srv)
    end)

    local HOSTILE = "x'); DROP TABLE notes; --"

    -- Lua source for a string literal of s (what the app's "params" evaluate).
    local function lua_string(s)
        return string.format("%q", s)
    end

    it("a parameter that looks like SQL is stored and read back verbatim; the table stays", function()
        local out = V.post(srv, "/query", { sql = "INSERT INTO notes (body) VALUES ($1) RETURNING body",
            params = lua_string(HOSTILE) })
        assert.are.same({ "INSERT 0 1", { { body = "str:" .. HOSTILE } } }, { out.command, out.rows })

        out = V.post(srv, "/query", { sql = "SELECT body FROM notes WHERE body = $1",
            params = lua_string(HOSTILE) })
        assert.are.same({ { body = "str:" .. HOSTILE } }, out.rows)
        assert.are.equal("notes", pg:psql("SELECT to_regclass('notes')"))
        assert.are.equal(HOSTILE, pg:psql("SELECT body FROM notes"))
    end)

    it("a condition in a parameter matches nothing: it is compared as text", function()
        local out = V.post(srv, "/query", { sql = "SELECT count(*) AS n FROM notes WHERE body = $1",
            params = lua_string("' OR '1'='1") })
        assert.are.same({ { n = "int:0" } }, out.rows)
        out = V.post(srv, "/query", { sql = "SELECT count(*) AS n FROM notes WHERE id = $1",
            params = lua_string("1 OR 1=1") })
        assert.are.same({ "22P02", 'invalid input syntax for type integer: "1 OR 1=1"' },
            { out.sqlstate, out.err })
    end)

    it("db:query refuses several statements, with or without parameters", function()
        local out = V.post(srv, "/query", { sql = "SELECT 1; DROP TABLE notes" })
        assert.are.same({ "nil", "cannot insert multiple commands into a prepared statement",
            "42601" }, { out.first, out.err, out.sqlstate })
        out = V.post(srv, "/query", { sql = "SELECT $1::text; DROP TABLE notes",
            params = lua_string("a") })
        assert.are.same({ "nil", "cannot insert multiple commands into a prepared statement",
            "42601" }, { out.first, out.err, out.sqlstate })
        assert.are.equal("notes", pg:psql("SELECT to_regclass('notes')"))
        assert.are.equal("1", pg:psql("SELECT count(*) FROM notes"))
    end)

    it("db:exec runs a script of statements and gives the last result", function()
        local out = V.post(srv, "/exec", { sql = "CREATE TABLE nums (n int); INSERT INTO nums"
            .. " VALUES (1), (2); INSERT INTO nums VALUES (4); SELECT sum(n) AS total FROM nums" })
        assert.is_nil(out.err, out.err)
        assert.are.same({ "SELECT 1", { "total" }, { { total = "int:7" } } },
            { out.command, out.columns, out.rows })
        assert.are.equal("1\n2\n4", pg:psql("SELECT n FROM nums ORDER BY n"))
    end)

    it("a script that fails part-way changes nothing (one implicit transaction)", function()
        local out = V.post(srv, "/exec", { sql = "INSERT INTO nums VALUES (100);"
            .. " SELECT * FROM no_such_table; INSERT INTO nums VALUES (200)" })
        assert.are.same({ "nil", 'relation "no_such_table" does not exist', "42P01" },
            { out.first, out.err, out.sqlstate })
        assert.are.equal("1\n2\n4", pg:psql("SELECT n FROM nums ORDER BY n"))
        -- and the connection goes on
        out = V.post(srv, "/query", { sql = "SELECT count(*) AS n FROM nums" })
        assert.are.same({ { n = "int:3" } }, out.rows)
    end)
end)
