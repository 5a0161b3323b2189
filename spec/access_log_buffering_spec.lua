-- The access log is written off the hot path: lines gather in a buffer and go out in one
-- write at least once a second (and at exit), never one system call per request; a write
-- that fails (a full disk) drops lines and the server goes on serving.

local S = require("spec.support.server")
local A = require("spec.support.access_log")
local PM = require("spec.support.metrics")

local ECHO = S.root .. "/apps/echo"

-- write(2)-family calls the process has made (/proc/PID/io syscw)
local function syscw(pid)
    local io = assert(S.read_file("/proc/" .. pid .. "/io"))
    return tonumber(io:match("syscw: (%d+)"))
end

-- n keep-alive requests on one connection; returns the write calls the server made meanwhile
local function writes_for(srv, n)
    local c = srv:connect()
    assert(c:send(S.get("/bytes/3")))
    assert(c:read_response({ timeout = 5 }))
    local before = syscw(srv.pid)
    for _ = 1, n do
        assert(c:send(S.get("/bytes/3")))
        assert.are.equal(200, assert(c:read_response({ timeout = 5 })).status)
    end
    local after = syscw(srv.pid)
    c:close()
    return after - before
end

describe("the access log's buffering", function()
    it("costs no write call per request: 300 requests, at most 2 more writes than without it",
        function()
            local path = S.mktempdir() .. "/a.log"
            local off = S.start({ app = ECHO })
            local on = S.start({ app = ECHO, args = { "--access-log", path } })
            local w_off = writes_for(off, 300)
            local w_on = writes_for(on, 300)
            off:stop_ok()
            on:stop_ok()
            assert.is_true(w_on - w_off <= 2, string.format("%d writes with the log, %d without",
                w_on, w_off))
            assert.are.equal(301, #A.lines(path)) -- (one before the count, then 300)
        end)

    it("writes a line within a second, without another request to push it", function()
        local path = S.mktempdir() .. "/a.log"
        local srv = S.start({ app = ECHO, args = { "--access-log", path } })
        assert.are.equal(200, (srv:get_body("/bytes/1", 3)))
        local t = S.now()
        local lines = A.wait_lines(path, 1, 3)
        local waited = S.now() - t
        srv:stop_ok()
        assert.are.equal(1, #lines)
        assert.is_true(waited < 1.5, "the line came after " .. waited .. " s")
    end)

    it("writes what it holds when the server stops", function()
        local path = S.mktempdir() .. "/a.log"
        local srv = S.start({ app = ECHO, args = { "--access-log", path } })
        for _ = 1, 5 do
            assert.are.equal(200, (srv:get_body("/bytes/1", 3)))
        end
        srv:stop_ok()
        assert.are.equal(5, #A.lines(path))
    end)

    it("goes on serving when the writes fail (a full disk: /dev/full), counting lost lines",
        function()
            local mport = S.free_port()
            local srv = S.start({ app = ECHO, args = { "--access-log", "/dev/full",
                "--metrics-listen", "127.0.0.1:" .. mport } })
            for _ = 1, 50 do
                assert.are.equal(200, (srv:get_body("/bytes/1", 3)))
            end
            local dropped
            assert(S.wait_for(function() -- a flush within a second fails
                local _, fams = PM.scrape(mport)
                dropped = PM.value(fams, "lunaserve_access_log_dropped_lines",
                    "lunaserve_access_log_dropped_lines_total")
                return dropped == 50
            end, 3), "dropped: " .. tostring(dropped))
            assert.are.equal(200, (srv:get_body("/bytes/1", 3)))
            srv:stop_ok()
        end)

    it("refuses to start when the file cannot be opened, naming it", function()
        local _, err, code = S.run({ "--port", "0", "--access-log", "/nonexistent-dir/a.log",
            ECHO }, { timeout = 10 })
        assert.are.equal(1, code)
        -- (as root, a warning about running as root comes first)
        assert.are.equal("lunaserve: cannot open the access log /nonexistent-dir/a.log: "
            .. "No such file or directory\n", err:match("[^\n]*\n$"))
    end)
end)
