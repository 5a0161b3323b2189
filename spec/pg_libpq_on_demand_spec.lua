-- libpq is loaded when an app first requires lunaserve.pg, not when the server starts (it
-- brings OpenSSL, GnuTLS and Kerberos with it: megabytes of resident memory that a server
-- without a database would carry for nothing).

local S = require("spec.support.server")

describe("libpq", function()
    local dir, srv

    before_each(function()
        dir = S.mktempdir()
    end)

    after_each(function()
        if srv then
            srv:stop_ok()
            srv = nil
        end
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    it("is not in a server whose app does not use lunaserve.pg", function()
        srv = S.start() -- apps/hello
        assert.is_false(srv:maps_library("libpq"))
    end)

    it("is loaded once the app requires lunaserve.pg", function()
        local app = dir .. "/app.lua"
        S.write_file(app, 'local pg = require("lunaserve.pg")\n'
            .. 'return function(req, res) res:finish(type(pg.connect)) end\n')
        srv = S.start({ app = app })
        assert.is_true(srv:maps_library("libpq"))
        local c = srv:connect()
        assert(c:send(S.get("/")))
        local res = assert(c:read_response({ timeout = 5 }))
        c:close()
        assert.are.equal("function", res.body)
    end)
end)
