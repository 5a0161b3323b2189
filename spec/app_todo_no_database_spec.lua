-- apps/todo (README, "Bundled apps"): without DATABASE_URL (unset or empty) the app stops
-- the start with one line on stderr that says how to start a local PostgreSQL (the script
-- it names is there), exit status 1, with one process or with workers; a DATABASE_URL that
-- leads nowhere stops the start with the reason.
local S = require("spec.support.server")

local APP = S.root .. "/apps/todo"

-- The binary, as a path that holds from any folder (LUNASERVE_BIN may be relative).
local function bin()
    local b = S.bin()
    return b:sub(1, 1) == "/" and b or (S.root .. "/" .. b)
end

-- Runs lunaserve from `cwd` with DATABASE_URL unset (url nil) or set; bounded. Returns
-- stdout, stderr, exit status.
local function run(cwd, app, url, args)
    local dir = S.mktempdir()
    local cmd = string.format("cd %s && env -u DATABASE_URL %s timeout -s KILL 20 %s --port 0 %s %s"
        .. " </dev/null >%s/out 2>%s/err", S.shquote(cwd),
        url and S.shquote("DATABASE_URL=" .. url) or "", S.shquote(bin()), args or "",
        S.shquote(app), dir, dir)
    local _, how, code = os.execute(cmd)
    local out, err = S.read_file(dir .. "/out") or "", S.read_file(dir .. "/err") or ""
    os.execute("rm -rf " .. S.shquote(dir))
    return out, err, how == "signal" and 128 + code or code
end

describe("apps/todo without a database", function()
    it("says in one line how to start one, and exits with status 1", function()
        local line = "apps/todo needs DATABASE_URL; start a throwaway PostgreSQL with: sh "
            .. "apps/todo/start-postgres.sh\n"
        for _, case in ipairs({ { nil, "" }, { "", "" }, { nil, "--workers 2" } }) do
            local out, err, code = run(S.root, "apps/todo", case[1], case[2])
            assert.are.equal("", out)
            assert.are.equal(line, err)
            assert.are.equal(1, code)
        end
        -- the line names the script where the app is
        local _, err, code = run("/tmp", APP)
        assert.are.equal("apps/todo needs DATABASE_URL; start a throwaway PostgreSQL with: sh "
            .. APP .. "/start-postgres.sh\n", err)
        assert.are.equal(1, code)
        local f = assert(io.open(APP .. "/start-postgres.sh"))
        assert.are.equal("#!/bin/sh\n", f:read("L"))
        f:close()
    end)

    it("stops the start with the reason when DATABASE_URL leads nowhere", function()
        local port = S.free_port()
        local out, err, code = run(S.root, "apps/todo",
            "postgresql://app@127.0.0.1:" .. port .. "/app?connect_timeout=5")
        assert.are.equal("", out)
        assert.are.equal(1, code)
        assert.is_truthy(err:find("apps/todo: cannot bring the database up to date: ", 1, true), err)
        assert.is_truthy(err:find("Connection refused", 1, true), err)
    end)
end)
