-- Reloading the app while it serves (issue 4, "SIGHUP" and "Hot reload while developing"):
-- the app is loaded again into a new Lua state; requests in flight finish on the code they
-- started with; keep-alive connections use the new code from their next request; an app that
-- does not load (syntax error, error at load, no handler) leaves the last good code serving and
-- is logged with file:line; the next good version recovers. --reload does the same when a .lua
-- file in the app's folder changes, within 200 ms of the save.
--
-- The apps are written into a temporary folder (the tests rewrite them). Each answers
-- "VERSION PID"; ?ms=N first sleeps N ms without blocking the loop.

local S = require("spec.support.server")

local function app_source(version)
    return string.format([[
local lunaserve = require("lunaserve")
local f = assert(io.open("/proc/self/stat", "r"))
local PID = f:read("l"):match("^(%%d+)")
f:close()
local VERSION = %q
return function(req, res)
    local ms = tonumber((req.query or ""):match("ms=(%%d+)") or "0")
    if ms > 0 then
        lunaserve.sleep(ms)
    end
    res:setHeader("Content-Type", "text/plain")
    res:finish(VERSION .. " " .. PID)
end
]], version)
end

-- Broken versions, each with the line the error must name.
local BROKEN = {
    { what = "a syntax error", line = 3, src = [[
local lunaserve = require("lunaserve")
-- a save in the middle of an edit
local VERSION = = "broken"
return function(req, res) res:finish(VERSION) end
]] },
    { what = "an error while loading", line = 3, text = "reload%-time failure", src = [[
-- raises while loading
local x = 1
error("reload-time failure " .. x)
return function(req, res) res:finish("never") end
]] },
    { what = "no handler returned", src = [[
local function handle(req, res)
    res:finish("never")
end
]] },
}

-- "VERSION PID" -> VERSION, PID
local function parse(body)
    local v, pid = (body or ""):match("^(%S+) (%d+)$")
    return v, tonumber(pid)
end

-- GET on a fresh connection; returns version, pid (raises on anything but a 200).
local function fresh(srv, target)
    local status, body = srv:get_body(target or "/")
    assert.are.equal(200, status, "fresh request: " .. tostring(body))
    local v, pid = parse(body)
    assert.is_truthy(v, "unexpected body " .. tostring(body))
    return v, pid
end

-- GET on an open keep-alive connection; returns version, pid and the response.
local function again(c, target)
    assert(c:send(S.get(target or "/")))
    local res = assert(c:read_response())
    assert.are.equal(200, res.status)
    local v, pid = parse(res.body)
    assert.is_truthy(v, "unexpected body " .. res.body)
    return v, pid, res
end

-- Polls fresh connections until `n` answers in a row say `version` (bounded); returns true or
-- false and the versions seen.
local function until_version(srv, version, timeout, n)
    n = n or 1
    local run, seen = 0, {}
    local ok = S.wait_for(function()
        local v = fresh(srv)
        seen[#seen + 1] = v
        run = (v == version) and run + 1 or 0
        return run >= n
    end, timeout, 0.005)
    return ok and true or false, table.concat(seen, " ")
end

-- Fresh requests until worker `pid` has answered with `version` (bounded).
local function until_worker_version(srv, pid, version, timeout)
    return S.wait_for(function()
        local v, p = fresh(srv)
        return v == version and p == pid
    end, timeout, 0.005)
end

local function new_app_dir(files)
    local dir = S.mktempdir()
    for name, src in pairs(files) do
        S.write_file(dir .. "/" .. name, src)
    end
    return dir
end

local MODES = {
    { name = "a single process", args = {}, workers = 1 },
    { name = "a master with 2 workers", args = { "--workers", "2" }, workers = 2 },
}

for _, mode in ipairs(MODES) do
    describe("SIGHUP to " .. mode.name, function()
        local dir, app, srv

        before_each(function()
            dir = new_app_dir({ ["app.lua"] = app_source("A") })
            app = dir .. "/app.lua"
            srv = S.start_any({ app = app, args = mode.args })
            if mode.workers > 1 then
                assert(srv:wait_children(mode.workers, 3))
            end
            assert.are.equal("A", (fresh(srv)))
        end)

        after_each(function()
            local s = srv
            srv = nil
            os.execute("rm -rf " .. S.shquote(dir))
            if s then
                s:stop_ok()
            end
        end)

        it("serves new requests with the new code", function()
            S.write_file_atomic(app, app_source("B"))
            srv:signal("HUP")
            local ok, seen = until_version(srv, "B", 2, 10)
            assert.is_true(ok, "answers after SIGHUP: " .. seen)
            for _ = 1, 20 do
                assert.are.equal("B", (fresh(srv)))
            end
            assert.is_true(srv:alive())
        end)

        it("finishes a request in flight on the code it started with", function()
            local slow = srv:connect()
            assert(slow:send(S.get("/?ms=700")))
            S.sleep(0.15)
            local t0 = S.now()
            S.write_file_atomic(app, app_source("B"))
            srv:signal("HUP")
            local ok, seen = until_version(srv, "B", 2)
            assert.is_true(ok, "answers after SIGHUP: " .. seen)
            assert.is_true(S.now() - t0 < 0.5, "the new code answered only after the slow request")
            local res = assert(slow:read_response({ timeout = 3 }))
            slow:close()
            assert.are.equal(200, res.status)
            assert.are.equal("A", (parse(res.body)), res.body)
        end)

        it("serves a keep-alive connection's next request with the new code", function()
            local c = srv:connect()
            local v, pid = again(c)
            assert.are.equal("A", v)
            S.write_file_atomic(app, app_source("B"))
            srv:signal("HUP")
            -- once the worker holding the connection answers B to a new connection ...
            assert.is_truthy(until_worker_version(srv, pid, "B", 2),
                "worker " .. pid .. " did not answer B within 2 s")
            -- ... the old connection's next request runs the new code, on the same connection
            local v2, pid2, res = again(c)
            assert.are.equal("B", v2)
            assert.are.equal(pid, pid2)
            assert.is_false(res:has_token("Connection", "close"))
            assert.are.equal("B", (again(c)))
            c:close()
        end)

        for _, bad in ipairs(BROKEN) do
            it("keeps serving the previous code when the new code has " .. bad.what
                .. ", logs file:line, and recovers on the next good version", function()
                    local ka = srv:connect()
                    assert.are.equal("A", (again(ka)))
                    S.write_file_atomic(app, bad.src)
                    srv:signal("HUP")
                    local where = "app%.lua:" .. (bad.line or "%d+") .. ": "
                        .. (bad.text or "%S")
                    local logged = S.wait_for(function()
                        return srv:log():find(where)
                    end, 2, 0.01)
                    assert.is_truthy(logged, "no " .. where .. " in the log:\n" .. srv:log())
                    for _ = 1, 10 do
                        assert.are.equal("A", (fresh(srv)))
                    end
                    assert.are.equal("A", (again(ka)))
                    assert.is_true(srv:alive())
                    if mode.workers > 1 then
                        assert.are.equal(mode.workers, #srv:children())
                    end
                    -- the next good version takes over
                    S.write_file_atomic(app, app_source("C"))
                    srv:signal("HUP")
                    local ok, seen = until_version(srv, "C", 2, 10)
                    assert.is_true(ok, "answers after the good version: " .. seen)
                    assert.are.equal("C", (again(ka)))
                    ka:close()
                end)
        end

        it("drops nothing during 20 reloads in a row", function()
            local ka = srv:connect()
            local failures, answers, n = {}, {}, 0
            local version = "A"
            local next_hup = S.now()
            local hups = 0
            local deadline = S.now() + 4
            while (hups < 20 or S.now() < next_hup + 0.1) and S.now() < deadline do
                if hups < 20 and S.now() >= next_hup then
                    version = version == "A" and "B" or "A"
                    S.write_file_atomic(app, app_source(version))
                    srv:signal("HUP")
                    hups = hups + 1
                    next_hup = S.now() + 0.03
                end
                n = n + 1
                local status, body = srv:get_body("/")
                local v = parse(body)
                if status ~= 200 or (v ~= "A" and v ~= "B") then
                    failures[#failures + 1] = "fresh: " .. tostring(status) .. " " .. tostring(body)
                end
                local res, err, partial = ka:send(S.get("/"))
                if res then
                    res, err, partial = ka:read_response()
                end
                if not res or res.status ~= 200 then
                    failures[#failures + 1] = string.format("keep-alive request %d: %s %s %s",
                        n, tostring(res and res.status), tostring(err),
                        partial and partial.raw and string.format("%q", partial.raw) or "")
                    ka:close()
                    ka = srv:connect()
                else
                    answers[parse(res.body) or res.body] = true
                    if res:has_token("Connection", "close") then
                        -- (--max-requests): not a failure, open the next one
                        ka:close()
                        ka = srv:connect()
                    end
                end
                S.sleep(0.002)
            end
            ka:close()
            assert.are.equal(20, hups)
            assert.are.same({}, failures)
            for a in pairs(answers) do
                assert.is_true(a == "A" or a == "B", "answer " .. a)
            end
            -- the last version written wins
            local ok, seen = until_version(srv, version, 2, 10)
            assert.is_true(ok, "after the last reload: " .. seen)
            assert.is_true(n >= 20)
        end)
    end)
end

describe("--reload", function()
    local dir, app, srv

    local function start(args, files, entry)
        dir = new_app_dir(files or { ["app.lua"] = app_source("A") })
        app = dir .. "/" .. (entry or "app.lua")
        local argv = { "--reload" }
        for _, a in ipairs(args or {}) do
            argv[#argv + 1] = a
        end
        srv = S.start_any({ app = entry == "" and dir or app, args = argv })
        local ok, seen = until_version(srv, "A", 3, 1)
        assert.is_true(ok, seen)
    end

    after_each(function()
        local s = srv
        srv = nil
        if dir then
            os.execute("rm -rf " .. S.shquote(dir))
        end
        if s then
            s:stop_ok()
        end
    end)

    -- Saves `src` (atomically unless in_place) and returns how long until a fresh connection
    -- answers `version` (nil if not within 2 s).
    local function save_and_time(path, src, version, in_place)
        if in_place then
            S.write_file(path, src)
        else
            S.write_file_atomic(path, src)
        end
        local t0 = S.now()
        local ok = until_version(srv, version, 2)
        return ok and (S.now() - t0) or nil
    end

    it("switches to the new code within 200 ms of an atomic save", function()
        start()
        local t = save_and_time(app, app_source("B"), "B")
        assert.is_truthy(t, "still not B 2 s after the save")
        assert.is_true(t < 0.2, "B after " .. t .. " s")
        local t2 = save_and_time(app, app_source("C"), "C")
        assert.is_truthy(t2, "still not C 2 s after the second save")
        assert.is_true(t2 < 0.2, "C after " .. t2 .. " s")
        for _ = 1, 10 do
            assert.are.equal("C", (fresh(srv)))
        end
    end)

    it("switches to the new code within 200 ms of a save that rewrites the file in place", function()
        start()
        local t = save_and_time(app, app_source("B"), "B", true)
        assert.is_truthy(t, "still not B 2 s after the save")
        assert.is_true(t < 0.2, "B after " .. t .. " s")
        -- and stays there (a reload of a half-written file must not win over the whole one)
        S.sleep(0.2)
        for _ = 1, 10 do
            assert.are.equal("B", (fresh(srv)))
        end
    end)

    it("reloads when another .lua file of a folder app changes", function()
        local init = [[
local version = require("version")
local lunaserve = require("lunaserve")
return function(req, res) res:finish(version .. " 1") end
]]
        start({}, { ["init.lua"] = init, ["version.lua"] = 'return "A"\n' }, "")
        local t = save_and_time(dir .. "/version.lua", 'return "B"\n', "B")
        assert.is_truthy(t, "still not B 2 s after saving version.lua")
        assert.is_true(t < 0.2, "B after " .. t .. " s")
    end)

    it("finishes a request in flight on the old code and moves a keep-alive connection to the new code",
        function()
            start()
            local ka = srv:connect()
            assert.are.equal("A", (again(ka)))
            local slow = srv:connect()
            assert(slow:send(S.get("/?ms=600")))
            S.sleep(0.1)
            local t = save_and_time(app, app_source("B"), "B")
            assert.is_truthy(t, "still not B 2 s after the save")
            assert.are.equal("B", (again(ka)))
            local res = assert(slow:read_response({ timeout = 3 }))
            assert.are.equal("A", (parse(res.body)), res.body)
            slow:close()
            ka:close()
        end)

    it("keeps the last good code after broken saves, prints file:line, and recovers on the next good save",
        function()
            start()
            for i, bad in ipairs(BROKEN) do
                local before = select(2, srv:log():gsub("app%.lua:%d+:", ""))
                S.write_file_atomic(app, bad.src)
                local where = "app%.lua:" .. (bad.line or "%d+") .. ": " .. (bad.text or "%S")
                local logged = S.wait_for(function()
                    local log = srv:log()
                    return select(2, log:gsub("app%.lua:%d+:", "")) > before and log:find(where)
                end, 1, 0.01)
                assert.is_truthy(logged, "save " .. i .. " (" .. bad.what .. "): no " .. where
                    .. " in the log:\n" .. srv:log())
                for _ = 1, 5 do
                    assert.are.equal("A", (fresh(srv)))
                end
            end
            local t = save_and_time(app, app_source("B"), "B")
            assert.is_truthy(t, "still not B 2 s after the good save:\n" .. srv:log())
            assert.is_true(t < 0.2, "B after " .. t .. " s")
        end)

    describe("with 2 workers", function()
        it("moves every worker to the new code, and keeps every worker on the old code after a broken save",
            function()
                start({ "--workers", "2" })
                assert(srv:wait_children(2, 3))
                local t = save_and_time(app, app_source("B"), "B")
                assert.is_truthy(t, "still not B 2 s after the save")
                assert.is_true(t < 0.2, "B after " .. t .. " s")
                local ok, seen = until_version(srv, "B", 1, 20)
                assert.is_true(ok, "a worker still answers A: " .. seen)
                S.write_file_atomic(app, BROKEN[1].src)
                assert.is_truthy(srv:wait_log("app.lua:3:", 1), srv:log())
                local pids = {}
                for _ = 1, 20 do
                    local v, pid = fresh(srv)
                    assert.are.equal("B", v)
                    pids[pid] = true
                end
                assert.are.equal(2, #srv:children())
            end)

        it("keeps serving the last good code from the surviving worker while a killed one cannot load the broken save, and brings it back on the next good save",
            function()
                -- A worker restarted by the master loads the app from disk (the master runs no
                -- Lua): while the saved file is broken it cannot start and is retried with
                -- backoff; the surviving worker serves the last good code meanwhile, and the
                -- next good save lets the replacement start (README, "Signals, workers and
                -- reload").
                start({ "--workers", "2" })
                local kids = assert(srv:wait_children(2, 3))
                S.write_file_atomic(app, BROKEN[1].src)
                assert.is_truthy(srv:wait_log("app.lua:3:", 1), srv:log())
                S.kill_pid(kids[1], "KILL")
                assert.is_truthy(srv:wait_log("killed by signal 9", 1), srv:log())
                for _ = 1, 20 do
                    local v, pid = fresh(srv)
                    assert.are.equal("A", v)
                    assert.are.equal(kids[2], pid, "only the survivor can answer")
                end
                S.write_file_atomic(app, app_source("B"))
                local now, seen = srv:wait_children(2, 6, { kids[1] })
                assert.is_truthy(now, "children after the good save: " .. table.concat(seen, " ")
                    .. "\nlog:\n" .. srv:log())
                local fresh_pid = now[1] == kids[2] and now[2] or now[1]
                local served = S.wait_for(function()
                    local v, pid = fresh(srv)
                    return v == "B" and pid == fresh_pid
                end, 3, 0.01)
                assert.is_truthy(served, "the replacement worker " .. fresh_pid
                    .. " never answered B; log:\n" .. srv:log())
            end)
    end)
end)
