-- Misbehaving upstreams (issue 10, "Bounded and owned"): each gives the handler an error within
-- its timeout: one that accepts but never answers, one that stalls mid-reply, one that resets
-- (at once or mid-reply), one that closes mid-reply. (One that sends 100 MB:
-- spec/tcp_flood_spec.lua; one that closes pooled connections: spec/tcp_pool_spec.lua; one
-- that never accepts: the connect timeout in spec/tcp_connect_spec.lua.)

local C = require("spec.support.cosocket")
local U = require("spec.support.upstream")

describe("a misbehaving upstream", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    local function check(cmd, ops, expected, lo, hi)
        C.within(env:expect_run(cmd, ops, expected), lo, hi, cmd)
    end

    it("that accepts but never answers: nil, 'timeout' within the read timeout", function()
        check("SILENT", { "timeout=300", "*l" }, { '*l: nil, "timeout", ""' }, 0.28, 1.5)
    end)

    it("that stalls mid-reply: nil, 'timeout' and the part that came, for every receive",
        function()
            local part = U.pattern(100)
            check("STALL 100", { "timeout=200", "1000", "*a", "until=END", "any=10" }, {
                '1000: nil, "timeout", "' .. part .. '"',
                '*a: nil, "timeout", ""',
                'until=END: nil, "timeout", ""',
                'any=10: nil, "timeout"',
            }, 0.75, 2.5)
        end)

    it("that sends a byte now and then keeps the read timeout from firing", function()
        -- each byte comes within the 300 ms timeout: progress starts the wait again
        check("DRIP 150 abcde\\n", { "timeout=300", "*l" }, { '*l: "abcde", nil, nil' }, 0.8, 2)
    end)

    it("that resets at once: nil, 'connection reset by peer', then 'closed'", function()
        check("RESET", { "*l", "send=x", "*l" }, {
            '*l: nil, "connection reset by peer", ""',
            'send=x: nil, "closed"',
            '*l: nil, "closed", nil',
        }, 0, 1)
    end)

    it("that resets mid-reply: the error with the part that came", function()
        check("SENDRESET part", { "*a" }, { '*a: nil, "connection reset by peer", "part"' }, 0, 1)
    end)

    it("that closes mid-reply: nil, 'closed' with the part that came", function()
        check("SENDCLOSE part", { "until=END" }, { 'until=END: nil, "closed", "part"' }, 0, 1)
    end)
end)
