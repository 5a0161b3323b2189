-- Issue 3: every close has exactly one reason, logged at debug level and counted.
local S = require("spec.support.server")

describe("close reasons", function()
    local srv
    before_each(function()
        srv = S.start({ app = "apps/echo", args = { "--log-level", "debug",
            "--keepalive-timeout", "0.3", "--header-timeout", "0.3", "--linger-idle", "0.2" } })
    end)
    after_each(function()
        if srv then srv:stop_ok() end
    end)

    local function closes(log)
        local n = 0
        for _ in log:gmatch("%] [^\n]*: close %(") do n = n + 1 end
        return n
    end

    it("logs one reason per connection: finish-close, idle, header-timeout, destroy, protocol-error, peer-reset", function()
        local c = srv:connect() -- finish-close: /close ends the connection
        assert(c:send(S.get("/close")))
        assert.are.equal("bye", assert(c:read_response()).body)
        c:read_until_close(2)
        c:close()
        c = srv:connect() -- idle: a response, then nothing
        assert(c:send(S.get("/echo")))
        assert(c:read_response())
        c:read_until_close(2)
        c:close()
        c = srv:connect() -- header-timeout: half a head
        assert(c:send("GET / HTTP/1.1\r\n"))
        c:read_until_close(2)
        c:close()
        c = srv:connect() -- destroy
        assert(c:send(S.get("/destroy")))
        c:read_until_close(2)
        c:close()
        c = srv:connect() -- protocol-error
        assert(c:send("BAD\r\n\r\n"))
        c:read_until_close(2)
        c:close()
        c = srv:connect() -- peer-reset: the client leaves mid-body
        assert(c:send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab"))
        S.sleep(0.1)
        c:reset()
        local log
        assert.is_truthy(S.wait_for(function()
            log = srv:log()
            return closes(log) >= 6
        end, 3), srv:log())
        for _, why in ipairs({ "finish-close", "idle", "header-timeout", "destroy",
            "protocol-error", "peer-reset" }) do
            assert.is_truthy(log:find(": close (" .. why, 1, true), why .. " missing in\n" .. log)
        end
        assert.are.equal(6, closes(log), log)
        -- and counted: the totals are logged at exit
        srv:stop_ok()
        log = srv.final_log
        srv = nil
        for _, why in ipairs({ "finish-close", "idle", "header-timeout", "destroy",
            "protocol-error", "peer-reset" }) do
            assert.is_truthy(log:find("closed " .. why .. ": 1", 1, true), why .. " not counted in\n" .. log)
        end
    end)
end)
