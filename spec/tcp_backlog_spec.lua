-- lunaserve.tcp(): connect's pool_size and backlog options (issue 10; OpenResty's connect
-- options): with a backlog, at most pool_size connections are open under the pool at once; a
-- connect past that waits in line (at most `backlog` of them) and gets a connection when one
-- is put back or closed, or nil, "timeout" after its connect timeout; one more gets nil,
-- "too many waiting connect operations" at once. The app's /backlog uses pool "bl" with
-- pool_size 1 and backlog 1.

local S = require("spec.support.server")
local C = require("spec.support.cosocket")

local lines = C.lines

describe("connect with a backlog", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    local function backlog(t)
        return env:start_get("/backlog?" .. env:query(t))
    end

    -- the answer of /backlog for a connection reused `n` times, ended with `how`
    local function served(tag, n, how)
        return lines({
            "connect: 1, nil",
            "reused: " .. n .. ", nil",
            "send: " .. (#tag + 1) .. ", nil",
            'receive: "' .. tag .. '", nil, nil',
            how == "close" and "close: 1, nil" or "keepalive: 1, nil",
        })
    end

    it("queues a connect past pool_size, refuses one past the backlog, serves the queued one",
        function()
            local a = backlog({ tag = "A", hold = 1000 })
            S.sleep(0.15)
            local b = backlog({ tag = "B" })
            S.sleep(0.15)
            -- the line is full: C is refused at once
            local body, took = env:route("backlog", { tag = "C" })
            assert.are.equal(lines({ 'connect: nil, "too many waiting connect operations"' }),
                body)
            C.within(took, 0, 0.3, "the refused connect")
            assert.are.equal(served("A", 0), a:finish())
            -- B waited for A's connection and got it from the pool
            local bbody, btook = b:finish()
            assert.are.equal(served("B", 1), bbody)
            C.within(btook, 0.35, 2, "B's queued connect")
        end)

    it("a queued connect times out after its connect timeout", function()
        local a = backlog({ tag = "A2", hold = 900, after = "close" })
        S.sleep(0.15)
        local body, took = env:route("backlog", { tag = "B2", ct = 250 })
        assert.are.equal(lines({ 'connect: nil, "timeout"' }), body)
        C.within(took, 0.2, 1, "the queued connect with a 250 ms timeout")
        -- the line has room again: C2 waits for A2, which closes its connection
        local c = backlog({ tag = "C2" })
        local abody = a:finish()
        assert.is_truthy(abody:find("close: 1, nil", 1, true), abody)
        local cbody = c:finish()
        assert.are.equal(served("C2", 0), cbody)
        assert.are.equal(1, #env.up:tagged("C2"))
    end)
end)
