-- res:destroy() and req:destroy() (docs/ARCHITECTURE.md, the connection contract, point 4):
-- the connection is torn down at once with no response (reset if output was still queued),
-- 'close' fires, and later calls on the response neither raise nor send anything.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

local q = S.q

describe("res:destroy() and req:destroy()", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    before_each(function()
        assert.are.equal("reset", assert(srv:fetch(S.get("/reset"))).body)
    end)

    it("res:destroy() closes the connection with no response; 'close' fires; later calls are harmless",
        function()
            local c = srv:connect()
            assert(c:send(S.get("/destroy")))
            local data, kind = c:read_until_close(3)
            assert.are.equal("", data)
            assert.are_not.equal("timeout", kind)
            c:close()
            local st = srv:wait_state("destroy_done")
            assert.are.equal("true", st.destroy_done)
            assert.are_not.equal("ok:true", st.destroy_write)
            assert.is_truthy(S.wait_for(function()
                return srv:events():find("res-close", 1, true)
            end, 2, 0.05), "res 'close' did not fire")
            -- the server is fine
            assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
        end)

    it("req:destroy() closes the connection with no response; later calls are harmless",
        function()
            local c = srv:connect()
            assert(c:send(S.get("/req-destroy")))
            local data, kind = c:read_until_close(3)
            assert.are.equal("", data)
            assert.are_not.equal("timeout", kind)
            c:close()
            local st = srv:wait_state("reqdestroy_done")
            assert.are.equal("true", st.reqdestroy_done)
            assert.are_not.equal("ok:true", st.reqdestroy_write)
            assert.is_truthy(S.wait_for(function()
                return srv:events():find("res-close", 1, true)
            end, 2, 0.05), "res 'close' did not fire")
            assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
        end)

    it("discards queued output and resets the connection when destroyed with data unsent",
        function()
            local n = 32 * 1024 * 1024
            local c = srv:connect()
            assert(c:send(S.get("/destroy-unsent?n=" .. n)))
            srv:wait_state("unsent_done")
            S.sleep(0.1)
            local data, kind = c:read_until_close(10)
            assert.are.equal("reset", kind)
            assert.is_true(#data < n, "all queued output was delivered after destroy")
            c:close()
            assert.are.equal("false", srv:state().unsent_write)
            assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
        end)
end)

describe("calls on a destroyed response", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE, args = { "--keepalive-timeout", "1" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("makes calls on a destroyed response harmless: no error, no handler error logged, no response",
        function()
            local c = srv:connect()
            assert(c:send(S.get("/destroy-calls")))
            local data, kind = c:read_until_close(2)
            c:close()
            assert.are_not.equal("timeout", kind, "the connection was not closed")
            assert.are.equal("", data, "a response after destroy: " .. q(data))
            local st = srv:state_when("dc_done")
            local report = {}
            for _, k in ipairs({ "setHeader", "statusCode", "writeHead", "removeHeader", "write",
                "finish" }) do
                report[#report + 1] = k .. " -> " .. tostring(st["dc_" .. k])
            end
            report = table.concat(report, "\n")
            for _, k in ipairs({ "setHeader", "statusCode", "writeHead", "removeHeader", "write",
                "finish" }) do
                assert.is_truthy(tostring(st["dc_" .. k]):find("^ok:"), "res:" .. k
                    .. " raised after res:destroy()\n" .. report)
            end
            local log = srv:log()
            assert.is_falsy(log:find("handler error for GET /destroy-calls", 1, true), log)
            assert.is_falsy(log:find("error in a listener", 1, true), log)
        end)
end)
