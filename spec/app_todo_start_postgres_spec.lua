-- apps/todo/start-postgres.sh (README, "Bundled apps"): starts a throwaway PostgreSQL as a
-- non-root user on a free loopback port and prints the DATABASE_URL; apps/todo runs against
-- it; Ctrl-C (SIGINT) or SIGTERM stops the server (its PID is gone) and removes its folder.
local S = require("spec.support.server")
local T = require("spec.support.todo")

local APP = T.APP
local SCRIPT = APP .. "/start-postgres.sh"

-- Runs the script in the background as a terminal would (SIGINT not ignored, which a
-- shell's `&` would do); returns its folder of files (pid, out, err, status).
local function launch()
    local dir = S.mktempdir()
    local inner = string.format("/usr/bin/python3 -c %s %s </dev/null >%s/out 2>%s/err &"
        .. " echo $! >%s/pid; wait $!; echo $? >%s/status",
        S.shquote("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL);"
            .. " os.execvp('sh', ['sh', sys.argv[1]])"), S.shquote(SCRIPT), dir, dir, dir, dir)
    os.execute("sh -c " .. S.shquote(inner) .. " </dev/null >/dev/null 2>&1 &")
    return dir
end

local function exists(path)
    return os.execute("test -e " .. S.shquote(path)) == true
end

-- Starts the script, runs the app against what it prints, stops the script with `sig`.
local function round(sig)
    local dir = launch()
    local script_pid, pg_pid, data
    local ok, err = pcall(function()
        local out = S.wait_for(function()
            local o = S.read_file(dir .. "/out") or ""
            return o:find("build/lunaserve apps/todo\n", 1, true) and o
        end, 60, 0.05)
        assert(out, "no DATABASE_URL within 60 s:\n" .. (S.read_file(dir .. "/out") or "")
            .. (S.read_file(dir .. "/err") or ""))
        script_pid = tonumber(S.read_file(dir .. "/pid"):match("%d+"))
        pg_pid, data = out:match("^PostgreSQL is running %(pid (%d+), data in ([^;]+); Ctrl%-C"
            .. " stops it and removes it%)%.\n")
        pg_pid = tonumber(pg_pid)
        assert(pg_pid, out)
        local url = out:match("\nDATABASE_URL=(postgresql://app@127%.0%.0%.1:%d+/todo)\n")
        assert(url, out)
        assert.are.equal("  DATABASE_URL=" .. url .. " build/lunaserve apps/todo\n",
            out:match("\n(  [^\n]*\n)$"))
        assert.is_true(S.pid_alive(pg_pid))
        assert.is_true(exists(data .. "/data/PG_VERSION"))
        -- the server runs as a user other than root
        local f = assert(io.open("/proc/" .. pg_pid .. "/status"))
        local uid = f:read("a"):match("\nUid:%s+(%d+)")
        f:close()
        assert.are_not.equal("0", uid)

        local srv = S.start({ app = APP, env = { DATABASE_URL = url } })
        local r = T.call(srv, "POST", "/todos", T.JSON, '{"title":"from the script"}')
        local got = T.call(srv, "GET", "/todos/1")
        srv:stop_ok()
        assert.are.equal(201, r.status, r.body)
        assert.are.equal(200, got.status)
        assert.are.equal(r.body, got.body)

        os.execute("kill -" .. sig .. " " .. script_pid)
        local st = S.wait_for(function() return S.read_file(dir .. "/status") end, 20, 0.05)
        assert(st, "the script did not exit within 20 s of SIG" .. sig)
        assert.are.equal(130, tonumber(st:match("%d+")))
        assert.is_truthy(S.wait_for(function() return not S.pid_alive(pg_pid) end, 5),
            "postgres is still running")
        assert.is_false(exists(data))
    end)
    -- whatever happened: nothing left behind
    if script_pid and S.pid_alive(script_pid) then
        os.execute("kill -TERM " .. script_pid)
        S.wait_for(function() return not S.pid_alive(script_pid) end, 15)
    end
    if pg_pid and S.pid_alive(pg_pid) then
        os.execute("kill -KILL " .. pg_pid)
    end
    if data and data:match("^/tmp/lunaserve%-pg%.") then
        os.execute("rm -rf " .. S.shquote(data))
    end
    os.execute("rm -rf " .. S.shquote(dir))
    assert(ok, err)
end

describe("apps/todo/start-postgres.sh", function()
    it("starts a PostgreSQL the app runs on, and Ctrl-C removes it", function()
        round("INT")
    end)

    it("stops and removes it on SIGTERM too", function()
        round("TERM")
    end)
end)
