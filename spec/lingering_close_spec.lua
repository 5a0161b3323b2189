-- The lingering close (--linger-idle, --linger-time; docs/ARCHITECTURE.md, the connection
-- contract, point 2): after its FIN the server reads and discards what the client still sends,
-- so that the client gets no reset, until the client is quiet for --linger-idle or for at most
-- --linger-time. What this is for, an early 413 to a client still uploading, is in
-- early_413_spec.lua.

local S = require("spec.support.server")

local ECHO = S.root .. "/apps/echo"

describe("lingering close", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = ECHO, args = { "--linger-idle", "0.4", "--linger-time", "1" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    -- After the server's FIN: does data we send get read (no reset)?
    local function closed_response(c)
        assert(c:send(S.get("/close")))
        local res = assert(c:read_response())
        assert.are.equal("bye", res.body)
        local _, kind = c:read_until_close(3)
        assert.are.equal("fin", kind)
    end

    it("reads and discards what the client sends after the FIN, then closes after --linger-idle",
        function()
            local c = srv:connect()
            closed_response(c)
            S.sleep(0.1)
            c.sock:send("late data the server must discard")
            S.sleep(0.1)
            assert.are.equal("08", c:tcp_state(), "reset while lingering")
            -- idle past --linger-idle: the server has closed; more data now draws a reset
            S.sleep(0.8)
            c.sock:send("too late")
            local reset = S.wait_for(function() return c:tcp_state() == nil end, 1)
            assert.is_true(reset, "the server was still reading after --linger-idle")
            c:close()
        end)

    it("stops lingering after --linger-time even when the client keeps sending", function()
        local c = srv:connect()
        closed_response(c)
        local t0 = S.now()
        local reset_at
        while S.now() - t0 < 3 do
            c.sock:send(string.rep("k", 100))
            S.sleep(0.1)
            if c:tcp_state() == nil then
                reset_at = S.now() - t0
                break
            end
        end
        assert.is_truthy(reset_at, "still lingering after 3s with --linger-time 1")
        assert.is_true(reset_at > 0.5, "lingering ended after only " .. tostring(reset_at) .. "s")
        c:close()
    end)
end)
