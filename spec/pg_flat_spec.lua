-- Nothing piles up over many requests through lunaserve.pg's pool (issue 11, "fd and memory
-- flat after 10,000 requests"): after a warm-up, 10,000 single-row queries through the pool
-- (8 keep-alive connections, answers checked) leave the process' descriptors, its open
-- PostgreSQL connections, its Lua heap and its resident memory where they were.

local P = require("spec.support.postgres")
local J = require("spec.support.pg_client")
local S = require("spec.support.server")
local C = require("spec.support.cosocket")

describe("pg pool over 10,000 requests", function()
    local pg, srv

    lazy_setup(function()
        local opts = C.small_quarantine()
        opts.args = { "--max-requests", "100000" } -- the 8 connections serve all requests
        pg, srv = P.start_with_app("pg_pool.lua", opts)
    end)

    lazy_teardown(function()
        J.stop(pg, srv)
    end)

    -- n requests on 8 keep-alive connections, 25 pipelined on each at a time, within
    -- `seconds`; every answer is checked.
    local function load(n, seconds)
        local deadline = S.now() + seconds
        local conns = {}
        for k = 1, 8 do
            conns[k] = srv:connect()
        end
        local answered, id = 0, 0
        while answered < n do
            assert.is_true(S.now() < deadline, "only " .. answered .. " answers in " .. seconds .. " s")
            local sent = {}
            for k, c in ipairs(conns) do
                local batch, ids = {}, {}
                for b = 1, 25 do
                    id = id % 1000 + 1
                    batch[b], ids[b] = S.get("/user?id=" .. id), id
                end
                assert(c:send(table.concat(batch)))
                sent[k] = ids
            end
            for k, c in ipairs(conns) do
                for _, want in ipairs(sent[k]) do
                    local res, err = c:read_response({ timeout = 5 })
                    if not res or res.status ~= 200 or res.body ~= want .. " user" .. want then
                        error(string.format("request %d (id %d): %s", answered + 1, want,
                            res and (res.status .. " " .. res.body) or tostring(err)))
                    end
                    answered = answered + 1
                end
            end
        end
        for _, c in ipairs(conns) do
            c:close()
        end
    end

    local function fds()
        local p = assert(io.popen("ls /proc/" .. srv.pid .. "/fd | wc -l"))
        local n = tonumber(p:read("a"))
        p:close()
        return n
    end

    -- The process at rest: once the descriptors are the same twice in a row (wrk's
    -- connections closed).
    local function measure()
        local last
        S.wait_for(function()
            local now = fds()
            local same = now == last
            last = now
            return same
        end, 3, 0.1)
        local s = J.get(srv, "/stats?pool=main")
        return { fds = last, open = s.open, live = s.live, idle = s.idle, lua_kb = s.lua_kb,
            rss = srv:status_kb("VmRSS") }
    end

    it("leaves descriptors, connections, the Lua heap and memory flat", function()
        load(2000, 5) -- warm-up: the pool's connections, buffers, interned strings
        local before = measure()
        local t0 = S.now()
        load(10000, 15)
        local seconds = S.now() - t0
        local after = measure()
        local show = "before " .. J.show(before) .. ", after " .. J.show(after) .. " ("
            .. string.format("%.1f", seconds) .. " s)"
        assert.are.equal(before.fds, after.fds, show)
        assert.are.same({ before.open, before.live, before.idle }, { after.open, after.live, after.idle },
            show)
        assert.is_true(after.live >= 1 and after.live <= 10, show)
        assert.is_true(after.lua_kb - before.lua_kb < 64, "Lua heap: " .. show)
        assert.is_true(after.rss - before.rss < 2048, "resident memory: " .. show)
    end)
end)
