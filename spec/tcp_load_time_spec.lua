-- lunaserve.tcp() while the app loads (issue 10, "Bounded and owned": "Where it works: in
-- handlers, in timers, and while the app loads (init code may connect)"): the app's own code
-- connects, sends and receives before the server serves; the socket belongs to the Lua state,
-- and is closed when the server stops or a reload replaces that code.

local S = require("spec.support.server")
local U = require("spec.support.upstream")

describe("a socket used while the app loads", function()
    local up, srv

    lazy_setup(function()
        up = U.start()
        srv = S.start({ app = S.app("tcp_load.lua"),
            env = { TCP_SPEC_UPSTREAM_PORT = tostring(up.port) } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
        if up then
            up:stop()
        end
    end)

    it("connects, sends and receives, and is closed when the server stops", function()
        local status, body = srv:get_body("/")
        assert.are.equal(200, status)
        assert.are.equal('connect: 1, nil, nil\nsend: 14, nil, nil\nreceive: "hi", nil, nil\n',
            body)
        local list = up:tagged("load")
        assert.are.equal(1, #list, U.describe(list))
        assert.is_true(list[1].open, "closed before the server stopped: " .. U.describe(list))
        srv:stop_ok()
        srv = nil
        assert.is_truthy(up:wait_closed("load", 2), "still open after the server stopped")
    end)
end)

describe("a socket the app's load connected", function()
    local up, dir, srv

    lazy_setup(function()
        up = U.start()
        dir = S.mktempdir()
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
        if up then
            up:stop()
        end
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    it("is closed when a reload replaces the code; the new code's load connects its own", function()
        local app = dir .. "/app.lua"
        S.write_file(app, S.read_file(S.app("tcp_load.lua")))
        srv = S.start({ app = app, env = { TCP_SPEC_UPSTREAM_PORT = tostring(up.port) } })
        local first = up:tagged("load")
        assert.are.equal(1, #first, U.describe(first))
        assert.is_true(first[1].open, U.describe(first))
        srv:signal("HUP")
        assert.is_true(srv:wait_log("reloaded " .. app, 3), srv:log())
        local list
        local ok = S.wait_for(function()
            list = up:tagged("load")
            return #list == 2 and not list[1].open and list[2].open
        end, 3, 0.02)
        assert.is_true(ok, "the old code's socket is still open, or the new one is not: "
            .. U.describe(list))
        assert.is_true(list[1].eof, U.describe(list))
    end)
end)
