-- The handler CPU budget per resume (docs/ARCHITECTURE.md, the defaults table, "handler CPU
-- budget per resume: 2 s -> 500 or close"; option --handler-budget SECONDS). A handler that runs
-- longer than the budget without yielding is stopped: 500 if its head has not gone out, else the
-- connection is closed, as for a handler error (README, the Lua API; handler_errors_spec.lua);
-- the server goes on serving everyone else.

local S = require("spec.support.server")

local APP = S.app("budget.lua")

local function q(s)
    return string.format("%q", s)
end

describe("--handler-budget", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP, args = { "--handler-budget", "0.3" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    -- After a 500: either the connection says close and ends with a FIN, or it goes on.
    local function after_500(c, res)
        if res:has_token("Connection", "close") then
            local extra, kind = c:read_until_close(3)
            assert.are.equal("", extra)
            assert.are.equal("fin", kind)
        else
            assert(c:send(S.get("/ping?same-conn")))
            local r = assert(c:read_response())
            assert.are.equal("pong:same-conn", r.body)
        end
    end

    it("answers 500 to `while true do end` within about the budget, and serves another client during and after",
        function()
            local b = srv:connect()
            assert(b:send(S.get("/ping?b0")))
            assert.are.equal("pong:b0", assert(b:read_response()).body)
            local a = srv:connect()
            assert(a:send(S.get("/spin")))
            local t0 = S.now()
            -- requests from b while a's handler spins (the loop is busy: they wait, then run)
            S.sleep(0.05)
            assert(b:send(S.get("/ping?b1")))
            S.sleep(0.1)
            assert(b:send(S.get("/ping?b2")))
            local res, err, partial = a:read_response({ timeout = 3 })
            local t = S.now() - t0
            assert.is_truthy(res, "no response to /spin: " .. tostring(err) .. " "
                .. q(partial and partial.raw or ""))
            assert.are.equal("HTTP/1.1", res.version)
            assert.are.equal(500, res.status, q(res.raw))
            assert.is_true(t >= 0.25 and t < 1.5, "500 after " .. t .. "s with --handler-budget 0.3")
            local list = assert(b:read_responses(2, { timeout = 3 }))
            assert.are.equal("pong:b1", list[1].body)
            assert.are.equal("pong:b2", list[2].body)
            after_500(a, res)
            a:close()
            -- and after
            for i = 3, 5 do
                assert(b:send(S.get("/ping?b" .. i)))
                assert.are.equal("pong:b" .. i, assert(b:read_response()).body)
            end
            b:close()
        end)

    it("closes the connection with a FIN, after what was written, when the handler loops after writing",
        function()
            -- An error after the head "closes" the connection (README, the Lua API), and
            -- closing is the FIN after all queued data of docs/ARCHITECTURE.md, the connection
            -- contract, point 2 (what /error-after-head gets in handler_errors_spec); only
            -- destroy (point 4) discards queued output with a reset.
            -- Since the handler never yielded, nothing may have reached the wire yet; then a
            -- complete 500 with Connection: close is right too ("500 if the head was not sent
            -- yet"). A reset with nothing at all is neither.
            local c = srv:connect()
            assert(c:send(S.get("/spin-after-write")))
            local t0 = S.now()
            local res, err, partial = c:read_response({ timeout = 3 })
            local t = S.now() - t0
            local extra, kind = c:read_until_close(3)
            if res then
                assert.are.equal(500, res.status, "a complete response: " .. q(res.raw))
                assert.is_true(res:has_token("Connection", "close"), res.raw_head)
            else
                assert.is_truthy(partial and partial.status, "no head at all: " .. tostring(err)
                    .. " " .. q(partial and partial.raw or "") .. ", then " .. kind)
                assert.are.equal(200, partial.status)
                assert.are.equal("chunked", partial.framing)
                -- exactly the one chunk written, then the end (no last chunk)
                assert.are.equal("partial", partial.body)
                assert.are.equal(1, #partial.chunks)
                assert.is_truthy(err:find("closed", 1, true), err)
            end
            assert.are.equal("", extra)
            assert.are.equal("fin", kind)
            assert.is_true(t >= 0.25 and t < 1.5, "closed after " .. t .. "s")
            c:close()
            assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
        end)

    it("stops a handler that catches the budget's error with pcall in a loop", function()
        local c = srv:connect()
        assert(c:send(S.get("/pcall-spin")))
        local t0 = S.now()
        local res, err, partial = c:read_response({ timeout = 4 })
        local t = S.now() - t0
        assert.is_truthy(res, "no response to /pcall-spin: " .. tostring(err) .. " "
            .. q(partial and partial.raw or ""))
        assert.are.equal(500, res.status, q(res.raw))
        assert.is_true(t >= 0.25 and t < 2, "500 after " .. t .. "s with --handler-budget 0.3")
        after_500(c, res)
        c:close()
        assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
    end)

    it("counts the budget per resume: 3 x 0.15 s of work with yields between is not stopped",
        function()
            local c = srv:connect()
            assert(c:send(S.get("/work-and-yield?ms=150&n=3")))
            local res = assert(c:read_response({ timeout = 5 }))
            assert.are.equal(200, res.status, q(res.raw))
            assert.are.equal("worked 3x150ms", res.body)
            c:close()
        end)

    it("keeps serving after the stopped handlers and exits 0 on SIGTERM", function()
        -- one more of each, then normal requests on one connection
        local a = srv:connect()
        assert(a:send(S.get("/spin")))
        assert.are.equal(500, assert(a:read_response({ timeout = 3 })).status)
        a:close()
        local c = srv:connect()
        for i = 1, 3 do
            assert(c:send(S.get("/ping?" .. i)))
            assert.are.equal("pong:" .. i, assert(c:read_response()).body)
        end
        c:close()
        local t0 = S.now()
        assert.are.equal(0, srv:stop_ok("TERM"))
        assert.is_true(S.now() - t0 < 5, "shutdown took " .. (S.now() - t0) .. "s")
        assert.is_falsy(srv.final_log:find("Sanitizer", 1, true), srv.final_log)
    end)
end)
