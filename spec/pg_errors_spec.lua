-- lunaserve.pg's errors from the server (issue 11): a query the server refuses gives nil, its
-- message and its SQLSTATE, and the pooled connection it ran on serves the next request as if
-- nothing happened (the app's pool holds one connection: the same backend pid answers).
-- Through spec/apps/pg_values.lua against a real PostgreSQL.

local P = require("spec.support.postgres")
local V = require("spec.support.pg_values")

describe("lunaserve.pg errors", function()
    local pg, srv, pid

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_values.lua")
        pg:psql("CREATE TABLE users (id int PRIMARY KEY, name text); ALTER TABLE users OWNER TO app;"
            .. " INSERT INTO users VALUES (1, 'ada')")
    end)

    lazy_teardown(function()
        P.stop_with_app(pg, srv)
    end)

    -- The query fails with exactly this message and SQLSTATE; then the same connection
    -- answers a query at once.
    local function refused(sql, params, message, sqlstate)
        local out = V.post(srv, "/query", { sql = sql, params = params })
        assert.are.same({ first = "nil", err = message, sqlstate = sqlstate },
            { first = out.first, err = out.err, sqlstate = out.sqlstate })
        assert.is_nil(out.rows)
        local after = V.post(srv, "/query", { sql = "SELECT 1 AS one, $1::text AS echo",
            params = "'after'" })
        assert.are.same({ { one = "int:1", echo = "str:after" } }, after.rows)
        assert.are.equal(out.pid, after.pid, "the failed query's connection serves the next")
        pid = pid or out.pid
        assert.are.equal(pid, out.pid, "one connection all along")
    end

    it("bad syntax: 42601", function()
        refused("SELEC 1", nil, 'syntax error at or near "SELEC"', "42601")
    end)

    it("a table that does not exist: 42P01", function()
        refused("SELECT * FROM no_such_table", nil, 'relation "no_such_table" does not exist',
            "42P01")
    end)

    it("a unique violation: 23505, and the row is not written", function()
        refused("INSERT INTO users VALUES ($1, $2)", "1, 'bob'",
            'duplicate key value violates unique constraint "users_pkey"', "23505")
        assert.are.equal("1|ada", pg:psql("SELECT id, name FROM users"))
    end)

    it("bad input for a type, in the SQL or in a parameter: 22P02", function()
        refused("SELECT 'abc'::int", nil, 'invalid input syntax for type integer: "abc"', "22P02")
        refused("SELECT $1::int8", "'12x'", 'invalid input syntax for type bigint: "12x"', "22P02")
        refused("SELECT $1::jsonb", "'{bad'", "invalid input syntax for type json", "22P02")
    end)

    it("an error after some rows were sent gives the error, not part of the rows", function()
        refused("SELECT 10 / (3 - i) AS q FROM generate_series(1, 5) AS i", nil,
            "division by zero", "22012")
    end)

    it("more or fewer parameters than the statement has: 08P01", function()
        refused("SELECT $1::int AS a", "1, 2",
            'bind message supplies 2 parameters, but prepared statement "" requires 1', "08P01")
        refused("SELECT $1::int AS a, $2::int AS b", "1",
            'bind message supplies 1 parameters, but prepared statement "" requires 2', "08P01")
    end)

    it("many failures in a row leave the connection as good as new", function()
        for i = 1, 20 do
            refused("SELECT * FROM missing_" .. i, nil,
                'relation "missing_' .. i .. '" does not exist', "42P01")
        end
        local out = V.post(srv, "/query", { sql = "SELECT name FROM users WHERE id = $1",
            params = "1" })
        assert.are.same({ { name = "str:ada" } }, out.rows)
        assert.are.equal(pid, out.pid)
    end)
end)
