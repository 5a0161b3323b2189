-- Connecting with lunaserve.pg (issue 11): pg.connect and pg.pool take a URL, a keyword
-- string or a table; over TCP, over the Unix socket, and to a host name that lunaserve's
-- resolver looks up. A connect that cannot succeed says why: a wrong password, a refused
-- connection and a bad conninfo at once, a server that never answers with "timeout" when the
-- connect timeout (the option, or libpq's connect_timeout keyword) runs out. Through
-- spec/apps/pg_values.lua against a real PostgreSQL; the server reports who connected and
-- from where (current_user, inet_client_addr()).

local socket = require("socket")
local S = require("spec.support.server")
local P = require("spec.support.postgres")
local V = require("spec.support.pg_values")

describe("lunaserve.pg connecting", function()
    local pg, srv, silent, silent_port

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_values.lua")
        -- a TCP listener that never answers: the kernel completes the handshake into its
        -- backlog, nobody reads the startup message
        silent = assert(socket.bind("127.0.0.1", 0))
        local _, port = silent:getsockname()
        silent_port = tonumber(port)
    end)

    lazy_teardown(function()
        if silent then
            silent:close()
        end
        P.stop_with_app(pg, srv)
    end)

    local APP_OVER_TCP = { { who = "str:app", addr = "str:127.0.0.1" } }

    local function connect(body, timeout)
        return V.post(srv, "/connect", body, timeout)
    end

    local function url(host, port, password)
        return string.format("postgresql://app:%s@%s:%d/app", password or P.PASSWORD, host,
            port or pg.port)
    end

    describe("reaches the server", function()
        it("with a URL", function()
            local out = connect({ conninfo = pg.url })
            assert.are.same(APP_OVER_TCP, out.rows, out.err)
        end)

        it("with a keyword string", function()
            local out = connect({ conninfo = string.format(
                "host=127.0.0.1 port=%d dbname=app user=app password='%s'", pg.port, P.PASSWORD) })
            assert.are.same(APP_OVER_TCP, out.rows, out.err)
        end)

        it("with a table of libpq's keywords, the port a number", function()
            local out = connect({ lua = string.format("{host = '127.0.0.1', port = %d,"
                .. " dbname = 'app', user = 'app', password = '%s'}", pg.port, P.PASSWORD) })
            assert.are.same(APP_OVER_TCP, out.rows, out.err)
        end)

        it("in a pool, with the same forms and the pool's options beside them", function()
            local outs = V.post_all(srv, "/pool", {
                { lua = string.format("{host = '127.0.0.1', port = %d, dbname = 'app',"
                    .. " user = 'app', password = '%s', size = 2}", pg.port, P.PASSWORD) },
                { lua = string.format("{url = '%s', size = 1}", pg.url) },
                { conninfo = pg.url, opts = { size = 1, connect_timeout = 5 } },
            })
            for i, out in ipairs(outs) do
                assert.are.same(APP_OVER_TCP, out.rows, "#" .. i .. ": " .. tostring(out.err))
            end
        end)

        it("over the Unix socket (PG_SOCKET_URL)", function()
            local out = connect({ env = "PG_SOCKET_URL" })
            -- the socket's peer has no address
            assert.are.same({ { who = "str:postgres", addr = "null" } }, out.rows, out.err)
        end)

        it("by a host name that the resolver looks up (localhost), in a URL and in keywords", function()
            local out = connect({ conninfo = url("localhost") })
            assert.are.same(APP_OVER_TCP, out.rows, out.err)
            out = connect({ conninfo = string.format("host=localhost port=%d dbname=app user=app"
                .. " password=%s", pg.port, P.PASSWORD) })
            assert.are.same(APP_OVER_TCP, out.rows, out.err)
        end)
    end)

    describe("fails with a clear error", function()
        it("on a wrong password; then the right one connects", function()
            local out = connect({ conninfo = url("127.0.0.1", nil, "wrong") })
            assert.is_nil(out.rows)
            assert.are.equal("nil", out.first)
            assert.are.equal(string.format('connection to server at "127.0.0.1", port %d failed:'
                .. ' FATAL:  password authentication failed for user "app"', pg.port), out.err)
            out = connect({ conninfo = pg.url })
            assert.are.same(APP_OVER_TCP, out.rows, out.err)
        end)

        it("at once when nothing listens on the port", function()
            local port = S.free_port()
            for _, host in ipairs({ "127.0.0.1", "localhost" }) do
                local out, took = connect({ conninfo = url(host, port) })
                assert.are.equal("nil", out.first)
                -- (localhost may have ::1 too: then libpq says why each address failed)
                local want = string.format('connection to server at "%s", port %d failed:'
                    .. ' Connection refused', host == "localhost" and "::1" or host, port)
                local want4 = want:gsub('"::1"', '"127.0.0.1"')
                assert.is_truthy(out.err:find(want, 1, true) == 1 or out.err:find(want4, 1, true) == 1,
                    out.err)
                assert.is_true(out.took < 0.5, "took " .. out.took .. " s")
                assert.is_true(took < 1, "took " .. took .. " s")
            end
        end)

        it("with 'timeout' when the server never answers, once connect_timeout has run out", function()
            local outs, took = V.post_all(srv, "/connect", {
                { conninfo = url("127.0.0.1", silent_port), opts = { connect_timeout = 0.5 } },
                { conninfo = url("localhost", silent_port), opts = { connect_timeout = 0.5 } },
                -- libpq's own keyword, in each form (whole seconds)
                { lua = string.format("{host = '127.0.0.1', port = %d, dbname = 'app',"
                    .. " connect_timeout = 1}", silent_port) },
                { conninfo = string.format("host=127.0.0.1 port=%d dbname=app connect_timeout=1",
                    silent_port) },
                { conninfo = url("127.0.0.1", silent_port) .. "?connect_timeout=1" },
            }, 5)
            for i, want in ipairs({ 0.5, 0.5, 1, 1, 1 }) do
                local out = outs[i]
                assert.are.same({ "nil", "timeout" }, { out.first, out.err }, "#" .. i)
                assert.is_true(out.took >= want - 0.05 and out.took < want + 0.5,
                    "#" .. i .. " took " .. tostring(out.took) .. " s, not about " .. want)
            end
            assert.is_true(took < 2, "all took " .. took .. " s")
        end)

        it("with 'timeout' from a pool whose connect times out (option or keyword)", function()
            local outs, took = V.post_all(srv, "/pool", {
                { conninfo = url("127.0.0.1", silent_port), opts = { connect_timeout = 0.5 } },
                { conninfo = url("127.0.0.1", silent_port) .. "?connect_timeout=1" },
            }, 5)
            for i, out in ipairs(outs) do
                assert.are.same({ "nil", "timeout" }, { out.first, out.err }, "#" .. i)
            end
            assert.is_true(took >= 0.95 and took < 2, "took " .. took .. " s")
        end)

        it("at once on a bad conninfo, in each form", function()
            local cases = {
                { { conninfo = "host=127.0.0.1 port" },
                    'missing "=" after "port" in connection info string' },
                { { conninfo = "host=127.0.0.1 bogus=1" }, 'invalid connection option "bogus"' },
                { { lua = "{host = '127.0.0.1', bogus = '1'}" }, 'invalid connection option "bogus"' },
                { { conninfo = "postgresql://app@127.0.0.1:notaport/app" },
                    'invalid integer value "notaport" for connection option "port"' },
                { { conninfo = "postgresql://[::1" }, 'end of string reached when looking for'
                    .. ' matching "]" in IPv6 host address in URI: "postgresql://[::1"' },
            }
            for i, case in ipairs(cases) do
                local out, took = connect(case[1])
                assert.are.same({ "nil", case[2] }, { out.first, out.err }, "#" .. i)
                assert.is_true(out.took < 0.1 and took < 0.5, "#" .. i .. " took " .. took .. " s")
            end
            local out = connect({ lua = "42" })
            assert.are.equal("pg.connect: conninfo must be a string or a table", out.raised)
        end)
    end)

    it("leaves no connection open after all of that", function()
        assert.are.equal("0", S.wait_for(function()
            local status, body = srv:get_body("/open")
            return status == 200 and body == "0" and body or nil
        end, 3) or select(2, srv:get_body("/open")))
    end)
end)
