-- lunaserve.pg converts values by their type, both ways (issue 11): results to Lua values
-- (int2/int4/int8 to integers, float4/float8 to floats, bool, json and jsonb decoded, bytea
-- as bytes, the rest as text, SQL NULL as pg.null) and Lua values to parameters (nil and
-- pg.null as NULL, booleans, integers, floats, strings, pg.bytea, tables as JSON). Checked
-- over HTTP through spec/apps/pg_values.lua, which shows each value with its Lua type, against
-- a real PostgreSQL; where a value is stored, psql reads it back from the other side.

local P = require("spec.support.postgres")
local V = require("spec.support.pg_values")

describe("lunaserve.pg values", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_values.lua")
    end)

    lazy_teardown(function()
        P.stop_with_app(pg, srv)
    end)

    -- The first row of a query that must succeed.
    local function row(sql, params)
        local out = V.post(srv, "/query", { sql = sql, params = params })
        assert.is_nil(out.err, out.err)
        assert.is_nil(out.raised, out.raised)
        assert.are.equal(1, out.n)
        return out.rows[1], out
    end

    describe("from the server", function()
        it("int2, int4 and int8 are Lua integers, also past 2^53 and negative", function()
            assert.are.same({
                a = "int:1", b = "int:-32768", c = "int:2147483647", d = "int:-2",
                e = "int:9007199254740993", f = "int:-9007199254740993",
                g = "int:9223372036854775807", h = "int:-9223372036854775808", i = "int:0",
            }, row("SELECT 1::int2 AS a, (-32768)::int2 AS b, 2147483647::int4 AS c,"
                .. " (-2)::int4 AS d, 9007199254740993::int8 AS e, (-9007199254740993)::int8 AS f,"
                .. " 9223372036854775807::int8 AS g, (-9223372036854775808)::int8 AS h,"
                .. " 0::int8 AS i"))
        end)

        it("float4 and float8 are floats, integral ones too, with NaN and the infinities", function()
            assert.are.same({
                a = "float:0.5", b = "float:0.1", c = "float:0.1", d = "float:2",
                e = "float:nan", f = "float:inf", g = "float:-inf", h = "float:nan",
                i = "float:-inf", j = "float:-0", k = "float:1e+300",
                l = "float:0.3333333333333333",
            }, row("SELECT 0.5::float4 AS a, 0.1::float4 AS b, 0.1::float8 AS c, 2::float8 AS d,"
                .. " 'NaN'::float8 AS e, 'Infinity'::float8 AS f, '-Infinity'::float8 AS g,"
                .. " 'NaN'::float4 AS h, '-Infinity'::float4 AS i, '-0'::float8 AS j,"
                .. " 1e300::float8 AS k, 1::float8 / 3 AS l"))
        end)

        it("bool is a Lua boolean", function()
            assert.are.same({ t = "bool:true", f = "bool:false" },
                row("SELECT true AS t, false AS f"))
        end)

        it("json and jsonb are decoded: nested objects and arrays, null inside", function()
            -- (lua-cjson decodes every JSON number as a float)
            assert.are.same({
                j = "{a=float:1,b={float:1,float:2.5,null,str:x},c={d=bool:true,e={}},f=null}",
                k = "{float:1,{k={str:v}},str:é}",
                s = "str:text",
                n = "float:-7",
            }, row([[SELECT '{"a": 1, "b": [1, 2.5, null, "x"], "c": {"d": true, "e": {}},]]
                .. [[ "f": null}'::jsonb AS j, '[1, {"k": ["v"]}, "\u00e9"]'::json AS k,]]
                .. [[ '"text"'::jsonb AS s, '-7'::json AS n]]))
        end)

        it("bytea is the bytes, all 256 values, and empty", function()
            assert.are.same({ b = "bytes:" .. V.all_bytes_hex(), e = "str:" },
                row("SELECT (SELECT string_agg(set_byte('\\x00'::bytea, 0, i), ''::bytea"
                    .. " ORDER BY i) FROM generate_series(0, 255) i) AS b, ''::bytea AS e"))
        end)

        it("numeric, text, timestamps, uuid, arrays and the rest are text", function()
            assert.are.same({
                n = "str:1.50", big = "str:123456789012345678901234567890.000000001",
                t = "str:hé \"q\"", ts = "str:2024-01-02 03:04:05.678", d = "str:2024-02-29",
                u = "str:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", arr = "str:{1,2,3}",
                arr2 = "str:{a,NULL,\"b c\"}", iv = "str:1 day 02:00:00",
            }, row([[SELECT 1.50::numeric AS n,]]
                .. [[ 123456789012345678901234567890.000000001::numeric AS big,]]
                .. [[ 'hé "q"'::text AS t, '2024-01-02 03:04:05.678'::timestamp AS ts,]]
                .. [[ '2024-02-29'::date AS d, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid AS u,]]
                .. [[ ARRAY[1, 2, 3] AS arr, ARRAY['a', NULL, 'b c'] AS arr2,]]
                .. [[ '1 day 2 hours'::interval AS iv]]))
        end)

        it("SQL NULL is pg.null under the column's key, of every type; a missing column is absent", function()
            local r = row("SELECT NULL::int AS i, NULL::text AS t, NULL::bytea AS b,"
                .. " NULL::jsonb AS j, NULL::bool AS o, NULL::float8 AS f, 1 AS present")
            -- every key is there (a JSON null would have dropped it), and nothing else
            assert.are.same({ i = "null", t = "null", b = "null", j = "null", o = "null",
                f = "null", present = "int:1" }, r)
        end)
    end)

    describe("as parameters", function()
        it("nil and pg.null are SQL NULL, also between and after other values", function()
            assert.are.same({ a = "bool:true", b = "str:x", c = "bool:true", d = "bool:true" },
                row("SELECT $1::int IS NULL AS a, $2::text AS b, $3::text IS NULL AS c,"
                    .. " $4::jsonb IS NULL AS d", "nil, 'x', pg.null, nil"))
        end)

        it("booleans, integers to the ends of int8, and floats go exactly", function()
            assert.are.same({
                t = "bool:true", f = "bool:false", max = "int:9223372036854775807",
                min = "int:-9223372036854775808", neg = "int:-42", x = "float:0.1",
                third = "float:0.3333333333333333", huge = "bool:true", two = "int:2",
                nan = "float:nan", inf = "float:inf", ninf = "float:-inf",
            }, row("SELECT $1::bool AS t, $2::bool AS f, $3::int8 AS max, $4::int8 AS min,"
                .. " $5::int4 AS neg, $6::float8 AS x, $7::float8 AS third,"
                .. " $8::float8 = 1e300 AS huge, $9::int4 AS two, $10::float8 AS nan,"
                .. " $11::float8 AS inf, $12::float8 AS ninf",
                "true, false, math.maxinteger, math.mininteger, -42, 0.1, 1/3, 1e300, 2.0,"
                .. " 0/0, math.huge, -math.huge"))
        end)

        it("strings go as they are: quotes, backslashes, UTF-8, newlines", function()
            assert.are.same({ s = "bytes:" .. V.hex("it's \\ \"é\"\r\n\ttab"), n = "int:16" },
                row("SELECT $1::text AS s, length($1) AS n", [['it\'s \\ "é"\r\n\ttab']]))
        end)

        it("a string with a zero byte is refused, not cut short", function()
            local out = V.post(srv, "/query", { sql = "SELECT $1::text AS s",
                params = [['a\0b']] })
            assert.is_nil(out.rows)
            assert.are.equal("bad parameter $1 (a string with a zero byte: text cannot hold"
                .. " one; send bytes as pg.bytea)", out.raised)
        end)

        it("pg.bytea carries all 256 byte values, stored as they are", function()
            local r = row("SELECT $1::bytea AS b, octet_length($1) AS n, $1 = (SELECT"
                .. " string_agg(set_byte('\\x00'::bytea, 0, i), ''::bytea ORDER BY i)"
                .. " FROM generate_series(0, 255) i) AS same", "pg.bytea(all_bytes())")
            assert.are.same({ b = "bytes:" .. V.all_bytes_hex(), n = "int:256",
                same = "bool:true" }, r)
            local out = V.post(srv, "/query", { sql = "CREATE TABLE blobs (b bytea)" })
            assert.are.equal("CREATE TABLE", out.command, out.err)
            out = V.post(srv, "/query", { sql = "INSERT INTO blobs VALUES ($1), ($2)",
                params = "pg.bytea(all_bytes()), pg.bytea('')" })
            assert.are.equal("int:2", out.affected)
            assert.are.equal("\\x" .. V.all_bytes_hex() .. "\n\\x",
                pg:psql("SELECT b FROM blobs ORDER BY length(b) DESC"))
        end)

        it("tables go as JSON (lua-cjson: numbers to 14 significant digits), pg.null as null",
            function()
            assert.are.same({
                j = [[str:{"a": 1, "b": [1, 2, 3], "c": "x\"y", "d": {"e": null}}]],
                k = 'str:[1, null, 3, "é"]',
                e = "str:{}",
                n = [[str:{"n": 1234567890123500, "big": 9223372036854800000,]]
                    .. [[ "tenth": 0.1, "third": 0.33333333333333}]],
            }, row("SELECT $1::jsonb::text AS j, $2::jsonb::text AS k, $3::jsonb::text AS e,"
                .. " $4::jsonb::text AS n",
                [[{a = 1, b = {1, 2, 3}, c = 'x"y', d = {e = pg.null}}, {1, pg.null, 3, "é"},]]
                .. [[ {}, {n = 1234567890123456, big = math.maxinteger,]]
                .. [[ third = 1/3, tenth = 0.1}]]))
        end)

        it("JSON text in a string goes as it is: exact numbers", function()
            assert.are.same({
                n = [[str:{"n": 1234567890123456, "big": 9223372036854775807, "third": 0.3333333333333333}]],
            }, row("SELECT $1::jsonb::text AS n",
                [=['{"n": 1234567890123456, "big": 9223372036854775807, "third": 0.3333333333333333}']=]))
        end)

        it("tables go as JSON: strings escaped, arrays with holes, nested empty tables", function()
            assert.are.same({
                s = [[str:{"s": "q\"b\\s/\n\t\u0001\u001fé"}]],
                t = [[str:{"x": {}, "y": [{}], "z": [null, null, 1]}]],
            }, row("SELECT $1::jsonb::text AS s, $2::jsonb::text AS t",
                [[{s = 'q"b\\s/\n\t\1\31é'}, {x = {}, y = {{}}, z = {[3] = 1}}]]))
        end)

        it("a table that JSON has no form for raises, naming the parameter and cjson's reason",
            function()
            for src, why in pairs({
                ["{a = 0/0}"] = "Cannot serialise number: must not be NaN or Inf",
                ["{1, {math.huge}}"] = "Cannot serialise number: must not be NaN or Inf",
                ["{f = string.len}"] = "Cannot serialise function: type not supported",
                ["{[{}] = 1}"] = "Cannot serialise table: table key must be a number or string",
                ["{[20] = 1}"] = "Cannot serialise table: excessively sparse array",
                ["(function() local t = {} t.t = t return t end)()"] =
                    "Cannot serialise, excessive nesting (1001)",
            }) do
                local out = V.post(srv, "/query", { sql = "SELECT $1::text AS a, $2::json AS b",
                    params = "'x', " .. src })
                assert.are.equal("bad parameter $2 (" .. why .. ")", out.raised, src)
            end
        end)
    end)

    describe("the result", function()
        it("lists its columns in order", function()
            local _, out = row("SELECT 1 AS zeta, 2 AS alpha, 3 AS mid, 4 AS \"Quoted Name\"")
            assert.are.same({ "zeta", "alpha", "mid", "Quoted Name" }, out.columns)
        end)

        it("gives the affected count and the command for INSERT, UPDATE and DELETE", function()
            local out = V.post(srv, "/query", { sql = "CREATE TABLE items (id int, name text)" })
            assert.are.same({ "CREATE TABLE", "nil", 0 }, { out.command, out.affected, out.n })
            out = V.post(srv, "/query", { sql = "INSERT INTO items VALUES ($1, $2), ($3, $4), (3, 'c')",
                params = "1, 'a', 2, 'b'" })
            assert.are.same({ "INSERT 0 3", "int:3", 0 }, { out.command, out.affected, out.n })
            out = V.post(srv, "/query", { sql = "UPDATE items SET name = upper(name) WHERE id < $1",
                params = "3" })
            assert.are.same({ "UPDATE 2", "int:2", 0 }, { out.command, out.affected, out.n })
            out = V.post(srv, "/query", { sql = "UPDATE items SET name = 'x' WHERE id > 100" })
            assert.are.same({ "UPDATE 0", "int:0" }, { out.command, out.affected })
            out = V.post(srv, "/query", { sql = "DELETE FROM items WHERE id = $1 RETURNING name",
                params = "1" })
            assert.are.same({ "DELETE 1", "int:1", 1, { { name = "str:A" } } },
                { out.command, out.affected, out.n, out.rows })
            assert.are.equal("2|B\n3|c", pg:psql("SELECT id, name FROM items ORDER BY id"))
        end)

        it("with zero rows is empty and still has its columns", function()
            local out = V.post(srv, "/query", { sql = "SELECT 1 AS x, 'y' AS y WHERE $1",
                params = "false" })
            assert.are.same({ 0, { "x", "y" }, "SELECT 0" }, { out.n, out.columns, out.command })
            assert.are.same({}, out.rows)
        end)
    end)
end)
