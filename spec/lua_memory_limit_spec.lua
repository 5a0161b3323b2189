-- The Lua memory cap per process (--max-lua-memory; issue 4, "Handler budgets"): a handler that
-- allocates past it gets a 500 and its process keeps serving, with the memory back; under a
-- master each worker has its own cap. spec/apps/workers.lua answers with the pid of the process
-- that served the request.

local S = require("spec.support.server")

local APP = S.app("workers.lua")

describe("--max-lua-memory", function()
    it("answers 500 to a handler that allocates past the cap, and the process keeps serving",
        function()
            local srv = S.start_any({ app = APP,
                args = { "--max-lua-memory", "32m", "--handler-budget", "0" } })
            finally(function() srv:stop() end)
            local t0 = S.now()
            local status, body = srv:get_body("/hog", 20)
            assert.are.equal(500, status, tostring(body))
            assert.is_true(S.now() - t0 < 10)
            local ok, log = srv:wait_log("memory", 2)
            assert.is_true(ok, "no memory error in the log:\n" .. log)
            assert.is_truthy(log:find("/hog", 1, true), "the request line is not in the log:\n" .. log)
            -- the same process answers, and the memory of the failed handler is back
            assert.is_true(srv:alive())
            status, body = srv:get_body("/pid")
            assert.are.equal(200, status)
            assert.are.equal(tostring(srv.pid), body)
            status, body = srv:get_body("/alloc?mb=12", 10)
            assert.are.equal(200, status, tostring(body))
            assert.is_truthy(body:find("^allocated 12 "), body)
            -- and again
            assert.are.equal(500, (srv:get_body("/hog", 20)))
            assert.are.equal(200, (srv:get_body("/alloc?mb=12", 10)))
            srv:stop_ok()
        end)

    it("caps each worker: the worker over the cap answers 500 and stays up", function()
        local srv = S.start_any({ app = APP,
            args = { "--workers", "2", "--max-lua-memory", "32m", "--handler-budget", "0" } })
        finally(function() srv:stop() end)
        local kids = assert(srv:wait_children(2, 3))
        local c = srv:connect(20)
        assert(c:send(S.get("/pid")))
        local pid = tonumber(assert(c:read_response()).body)
        assert(c:send(S.get("/hog")))
        local res = assert(c:read_response({ timeout = 20 }))
        assert.are.equal(500, res.status)
        c:close()
        S.sleep(0.2)
        assert.are.same(kids, srv:children())
        assert.is_true(S.pid_alive(pid))
        -- the worker that failed still serves, and has its memory back: find a connection to it
        -- (cheap /pid requests on new connections), then allocate on that connection
        local on_it
        S.wait_for(function()
            local k = srv:connect()
            assert(k:send(S.get("/pid")))
            local r = assert(k:read_response())
            assert.are.equal(200, r.status)
            if tonumber(r.body) == pid and not r:has_token("Connection", "close") then
                on_it = k
                return true
            end
            k:close()
        end, 3, 0)
        assert.is_truthy(on_it, "worker " .. pid .. " answered nothing after its 500")
        assert(on_it:send(S.get("/alloc?mb=12")))
        local r = assert(on_it:read_response({ timeout = 10 }))
        on_it:close()
        assert.are.equal(200, r.status, r.body)
        assert.are.equal("allocated 12 12288 " .. pid, r.body)
        srv:stop_ok()
    end)
end)
