-- The command line: options, app loading, start-up errors, the listening line. What the
-- server does on SIGTERM and SIGINT is in shutdown_spec.lua.

local S = require("spec.support.server")

describe("lunaserve command line", function()
    it("prints usage naming the options and exits 0 with --help", function()
        local out, err, code = S.run({ "--help" })
        assert.are.equal(0, code)
        local text = out .. err
        assert.is_truthy(text:find("--port", 1, true), text)
        assert.is_truthy(text:find("--host", 1, true), text)
        assert.is_falsy(text:find("listening on", 1, true))
    end)

    it("prints a version number and exits 0 with --version", function()
        local out, err, code = S.run({ "--version" })
        assert.are.equal(0, code)
        assert.is_truthy((out .. err):match("%d+%.%d+"), out .. err)
        assert.is_falsy((out .. err):find("listening on", 1, true))
    end)

    it("stops start-up with file:line and a non-zero exit on a syntax error", function()
        local out, err, code = S.run({ "--port", "0", S.app("bad_syntax.lua") }, { timeout = 5 })
        assert.are_not.equal(0, code)
        assert.is_truthy(err:find("bad_syntax%.lua:3: %S"), err)
        assert.is_falsy(out:find("listening on", 1, true))
    end)

    it("stops start-up with file:line and a non-zero exit when the script raises", function()
        local out, err, code = S.run({ "--port", "0", S.app("load_error.lua") }, { timeout = 5 })
        assert.are_not.equal(0, code)
        assert.is_truthy(err:find("load_error%.lua:3: load%-time failure 1"), err)
        assert.is_falsy(out:find("listening on", 1, true))
    end)

    it("stops start-up with file:line and a non-zero exit when the script returns nothing",
        function()
            local out, err, code = S.run({ "--port", "0", S.app("no_return.lua") },
                { timeout = 5 })
            assert.are_not.equal(0, code)
            assert.is_truthy(err:find("no_return%.lua:%d+: %S"), err)
            assert.is_falsy(out:find("listening on", 1, true))
        end)

    it("stops start-up with file:line and a non-zero exit when the script returns a number",
        function()
            local out, err, code = S.run({ "--port", "0", S.app("returns_number.lua") },
                { timeout = 5 })
            assert.are_not.equal(0, code)
            assert.is_truthy(err:find("returns_number%.lua:%d+: %S"), err)
            assert.is_falsy(out:find("listening on", 1, true))
        end)

    it("stops start-up with file:line and a non-zero exit for a table without handle",
        function()
            local out, err, code = S.run({ "--port", "0", S.app("table_without_handle.lua") },
                { timeout = 5 })
            assert.are_not.equal(0, code)
            assert.is_truthy(err:find("table_without_handle%.lua:%d+: %S"), err)
            assert.is_falsy(out:find("listening on", 1, true))
        end)

    it("stops start-up with a non-zero exit when the app file does not exist", function()
        local out, err, code = S.run({ "--port", "0", S.app("does_not_exist.lua") },
            { timeout = 5 })
        assert.are_not.equal(0, code)
        assert.is_truthy(err:find("does_not_exist", 1, true), err)
        assert.is_falsy(out:find("listening on", 1, true))
    end)

    it("prints exactly one listening line with the bound host and port", function()
        local srv = S.start()
        finally(function() srv:stop_ok() end)
        assert.are.equal("127.0.0.1", srv.host)
        assert.is_true(srv.port > 0)
        -- nothing else on stdout after the line
        S.sleep(0.1)
        local out = S.read_file(srv.dir .. "/out")
        assert.are.equal("lunaserve listening on http://127.0.0.1:" .. srv.port .. "/\n", out)
    end)

    it("serves apps/hello when no APP is given", function()
        local srv = S.start()
        finally(function() srv:stop_ok() end)
        local res = assert(srv:fetch(S.get("/")))
        assert.are.equal(200, res.status)
        assert.is_truthy(res.body:match("^Hello, World!\n?$"), res.body)
    end)

    it("serves apps/hello given as a directory", function()
        local srv = S.start({ app = S.root .. "/apps/hello" })
        finally(function() srv:stop_ok() end)
        local res = assert(srv:fetch(S.get("/")))
        assert.are.equal(200, res.status)
        assert.is_truthy(res.body:match("^Hello, World!\n?$"), res.body)
    end)

    it("loads init.lua from a directory app", function()
        local srv = S.start({ app = S.app("dirapp") })
        finally(function() srv:stop_ok() end)
        local res = assert(srv:fetch(S.get("/anything")))
        assert.are.equal(200, res.status)
        assert.are.equal("from dir app", res.body)
    end)

    it("accepts an app that returns a plain handler function", function()
        local srv = S.start({ app = S.app("plain_function.lua") })
        finally(function() srv:stop_ok() end)
        local res = assert(srv:fetch(S.request("PUT", "/p/q", nil, "x")))
        assert.are.equal(200, res.status)
        assert.are.equal("plain PUT /p/q", res.body)
    end)

    it("listens on the PORT environment variable when --port is not given", function()
        -- find a free port
        local socket = require("socket")
        local probe = assert(socket.bind("127.0.0.1", 0))
        local _, port = probe:getsockname()
        port = tonumber(port)
        probe:close()
        local srv = S.start({ port = false, env = { PORT = tostring(port) } })
        finally(function() srv:stop_ok() end)
        assert.are.equal(port, srv.port)
        local res = assert(srv:fetch(S.get("/")))
        assert.are.equal(200, res.status)
    end)

    it("prefers --port over the PORT environment variable", function()
        local srv = S.start({ env = { PORT = "1" } })
        finally(function() srv:stop_ok() end)
        assert.are_not.equal(1, srv.port)
        local res = assert(srv:fetch(S.get("/")))
        assert.are.equal(200, res.status)
    end)
end)
