-- lunaserve.sse: a stream ends cleanly whichever side ends it; its keep-alive timer stops.
local S = require("spec.support.server")

local E = require("spec.support.sse")

describe("lunaserve.sse end", function()
    local sse, srv, get, state, open, chunk

    lazy_setup(function()
        sse = E.start()
        srv, get, state, open, chunk = sse.srv, sse.get, sse.state, sse.open, sse.chunk
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("ends cleanly when the client goes away: the timer stops, send returns nil, 'closed'",
        function()
            local base = tonumber(state().pending_timers)
            local c = open("gone", 150)
            assert.are.equal(base + 1, tonumber(state().pending_timers))
            c:close()
            assert.are.equal("yes", S.wait_for(function()
                return state().closed_gone == "yes" and "yes"
            end, 3, 0.05))
            assert.are.equal("nil,closed", get("/send?name=gone&set=plain"))
            assert.are.equal("nil,closed", get("/comment?name=gone"))
            -- the keep-alive does not arm again: within an interval, no timer is left
            local left = S.wait_for(function()
                return tonumber(state().pending_timers) == base and base
            end, 1, 0.05)
            assert.are.equal(base, left)
        end)

    it("stream:close() ends the response; the connection serves the next request", function()
        local c = open("end", 100)
        assert.are.equal("true,false", get("/close?name=end"))
        assert.are.equal("0\r\n\r\n", assert(c:receive_exact(5, 1)))
        assert.are.equal("yes", state().closed_end)
        assert.are.equal("nil,closed", get("/send?name=end&set=plain"))
        assert(c:send(S.get("/state")))
        assert.are.equal(200, assert(c:read_response()).status)
        c:close()
    end)
end)
