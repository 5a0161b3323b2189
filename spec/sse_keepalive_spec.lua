-- lunaserve.sse: an idle stream gets a comment every keep-alive interval.
local S = require("spec.support.server")

local E = require("spec.support.sse")

describe("lunaserve.sse keep-alive", function()
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

    it("keeps an idle stream alive with comments on the interval", function()
        local c = open("k", 200)
        local t0 = S.now()
        assert.are.equal(":\n", chunk(c, 1):sub(1, 2))
        local first = S.now() - t0
        assert.is_true(first >= 0.18 and first < 0.6, "first comment after " .. first .. " s")
        assert.are.equal(":\n\n", chunk(c, 1))
        -- an event resets the idle time: the next comment comes an interval after it
        S.sleep(0.1)
        get("/send?name=k&set=plain")
        local t1 = S.now()
        assert.are.equal("data: hello\n\n", chunk(c))
        assert.are.equal(":\n\n", chunk(c, 1))
        local gap = S.now() - t1
        assert.is_true(gap >= 0.15, "comment " .. gap .. " s after an event")
        c:close()
    end)
end)
