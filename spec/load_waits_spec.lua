-- The app's code may wait while it loads (issue 10, "Where it works"): it runs as a root
-- coroutine, like a handler, so lunaserve.sleep and sockets work there. At start-up the
-- server listens once the load is done; on a reload the old code serves until the new code
-- has loaded, and a load that fails after its wait keeps the old code.

local S = require("spec.support.server")

local APP = S.app("load_waits.lua")

describe("waits while the app loads", function()
    local upstream

    lazy_setup(function()
        upstream = S.start({ app = S.root .. "/apps/echo" })
    end)

    lazy_teardown(function()
        if upstream then
            upstream:stop_ok()
        end
    end)

    it("a sleep delays the start, then the app serves", function()
        local t0 = S.now()
        local srv = S.start({ app = APP, env = { LUNASERVE_SPEC_LOAD_SLEEP = "300" } })
        local waited = S.now() - t0
        local res = assert(srv:fetch(S.get("/")))
        srv:stop_ok()
        assert.are.equal(200, res.status)
        assert.are.equal("v1 none", res.body)
        assert.is_true(waited >= 0.3, "listened after " .. waited .. " s")
    end)

    it("a sleep in a coroutine made at load time works too", function()
        local srv = S.start({ app = S.app("wait_outside_handler.lua"),
            env = { LUNASERVE_SPEC_WAIT_AT_LOAD = "coroutine" } })
        local res = assert(srv:fetch(S.get("/ping")))
        srv:stop_ok()
        assert.are.equal("pong", res.body)
    end)

    it("the app connects to another server while it loads", function()
        local srv = S.start({ app = APP, env = { LUNASERVE_SPEC_UPSTREAM = tostring(upstream.port) } })
        local res = assert(srv:fetch(S.get("/")))
        srv:stop_ok()
        assert.are.equal("v1 HTTP/1.1 200 OK true", res.body)
    end)

    it("an error after the wait stops start-up with file and line", function()
        local out, err, code = S.run({ "--port", "0", APP },
            { env = { LUNASERVE_SPEC_LOAD_SLEEP = "50", LUNASERVE_SPEC_LOAD_FAIL = "v1" } })
        assert.are.equal(1, code, err)
        assert.are.equal("", out)
        assert.is_truthy(err:find(APP .. ":29: failing after the wait", 1, true), err)
    end)

    describe("on a reload", function()
        local dir, app, srv

        before_each(function()
            dir = S.mktempdir()
            app = dir .. "/app.lua"
            S.write_file(app, S.read_file(APP))
            srv = S.start({ app = app, env = { LUNASERVE_SPEC_LOAD_SLEEP = "0",
                LUNASERVE_SPEC_UPSTREAM = tostring(upstream.port),
                LUNASERVE_SPEC_LOAD_FAIL = "v3" } })
        end)

        after_each(function()
            if srv then
                srv:stop_ok()
            end
            os.execute("rm -rf " .. S.shquote(dir))
        end)

        it("the old code serves until the new code's load, which connects, is done", function()
            assert.are.equal("v1 HTTP/1.1 200 OK true", assert(srv:fetch(S.get("/"))).body)
            -- the new version sleeps 400 ms while it loads, then connects
            local src = S.read_file(APP):gsub('local VERSION = "v1"', 'local VERSION = "v2"')
                :gsub('local sleep_ms = [^\n]*', 'local sleep_ms = 400')
            S.write_file_atomic(app, src)
            srv:signal("HUP")
            S.sleep(0.1)
            assert.are.equal("v1 HTTP/1.1 200 OK true", assert(srv:fetch(S.get("/"))).body)
            local seen = S.wait_for(function()
                local res = srv:fetch(S.get("/"))
                return res and res.body:match("^v2") and res.body
            end, 3)
            assert.are.equal("v2 HTTP/1.1 200 OK true", seen)
            assert.is_true(srv:wait_log("reloaded " .. app, 2), srv:log())
        end)

        it("a load that fails after its wait keeps the old code serving", function()
            local src = S.read_file(APP):gsub('local VERSION = "v1"', 'local VERSION = "v3"')
                :gsub('local sleep_ms = [^\n]*', 'local sleep_ms = 100')
            S.write_file_atomic(app, src)
            srv:signal("HUP")
            assert.is_true(srv:wait_log("reload failed, still serving the previous code: "
                .. app .. ":29: failing after the wait", 3), srv:log())
            assert.are.equal("v1 HTTP/1.1 200 OK true", assert(srv:fetch(S.get("/"))).body)
            assert.is_true(srv:alive())
        end)
    end)
end)
