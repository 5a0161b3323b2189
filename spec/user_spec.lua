-- --user USER[:GROUP]: the serving processes drop to USER once their sockets are bound (the
-- master stays root, as nginx's); reloads and worker restarts go on as USER, and a reload of
-- a file USER cannot read fails with the error logged while the old code serves. Running as
-- root without --user warns. These specs need root (CI runs as root) and Debian's "nobody".

local S = require("spec.support.server")

local function uid_of(pid)
    local st = assert(S.read_file("/proc/" .. pid .. "/status"), "no process " .. pid)
    return tonumber(st:match("\nUid:%s+(%d+)")), tonumber(st:match("\nGid:%s+(%d+)"))
end

local NOBODY = 65534

describe("--user", function()
    lazy_setup(function()
        local id = io.popen("id -u"):read("l")
        assert(id == "0", "these specs need root to switch users (running as uid " .. tostring(id) .. ")")
        assert(io.popen("id -u nobody"):read("l") == tostring(NOBODY), "no user nobody (uid 65534)")
    end)

    -- An app in a folder everybody can read: "v1" or what `body` says.
    local function app_dir(body)
        local dir = S.mktempdir()
        os.execute("chmod 755 " .. S.shquote(dir))
        S.write_file(dir .. "/app.lua", "return function(req, res) res:finish(" .. string.format("%q", body) .. ") end")
        os.execute("chmod 644 " .. S.shquote(dir .. "/app.lua"))
        return dir
    end

    it("serves as that user, with no warning", function()
        local dir = app_dir("v1")
        local srv = S.start({ app = dir .. "/app.lua", args = { "--user", "nobody" } })
        assert.are.same({ NOBODY, NOBODY }, { uid_of(srv.pid) })
        assert.are.same({ 200, "v1" }, { srv:get_body("/", 5) })
        local log = srv:log()
        srv:stop_ok()
        assert.is_nil(log:find("running as root", 1, true), log)
    end)

    it("takes USER:GROUP", function()
        local srv = S.start({ app = app_dir("v1") .. "/app.lua", args = { "--user", "nobody:nogroup" } })
        local gid = tonumber(io.popen("getent group nogroup | cut -d: -f3"):read("l"))
        assert.are.same({ NOBODY, gid }, { uid_of(srv.pid) })
        srv:stop_ok()
    end)

    it("drops in every worker and in a restarted one; the master stays root", function()
        local srv = S.start_any({ app = app_dir("v1") .. "/app.lua",
            args = { "--workers", "2", "--user", "nobody" } })
        local kids = assert(srv:wait_children(2, 5))
        assert.are.equal(0, (uid_of(srv.pid)))
        for _, pid in ipairs(kids) do
            assert.are.equal(NOBODY, (uid_of(pid)))
        end
        S.kill_pid(kids[1], "KILL")
        local again = assert(srv:wait_children(2, 10, { kids[1] }), "no restart")
        -- the new worker loads and binds as root, then drops: wait for it to be serving
        assert(srv:wait_log("restarted (pid", 10), srv:log())
        local uids
        assert(S.wait_for(function()
            uids = {}
            for i, pid in ipairs(again) do
                uids[i] = uid_of(pid)
            end
            return uids[1] == NOBODY and uids[2] == NOBODY
        end, 10), "uids of the workers: " .. table.concat(uids, ", "))
        assert.are.same({ 200, "v1" }, { srv:get_body("/", 5) })
        srv:stop_ok()
    end)

    it("reloads as that user; a file it cannot read fails the reload and the old code serves",
        function()
            local dir = app_dir("v1")
            local srv = S.start({ app = dir .. "/app.lua", args = { "--user", "nobody" } })
            S.write_file(dir .. "/app.lua", 'return function(req, res) res:finish("v2") end')
            srv:signal("HUP")
            assert(S.wait_for(function() return select(2, srv:get_body("/", 5)) == "v2" end, 5))
            S.write_file(dir .. "/app.lua", 'return function(req, res) res:finish("v3") end')
            os.execute("chmod 600 " .. S.shquote(dir .. "/app.lua")) -- root's alone
            srv:signal("HUP")
            assert(srv:wait_log("reload failed", 5))
            local log = srv:log()
            assert.is_truthy(log:find("Permission denied", 1, true), log)
            assert.are.same({ 200, "v2" }, { srv:get_body("/", 5) })
            srv:stop_ok()
        end)

    it("warns when root runs the server without --user", function()
        local srv = S.start({ app = app_dir("v1") .. "/app.lua" })
        local log = srv:log()
        srv:stop_ok()
        assert.is_truthy(log:find("running as root", 1, true), log)
    end)

    it("refuses an unknown user before it starts", function()
        local _, err, code = S.run({ "--port", "0", "--user", "no-such-user-here" }, { timeout = 10 })
        assert.are.equal(2, code)
        assert.are.equal("lunaserve: --user no-such-user-here: no user named no-such-user-here\n", err)
    end)
end)
