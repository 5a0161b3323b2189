-- lunaserve.tcp(): sock:setoption(name, value) (issue 10), as OpenResty's: keepalive,
-- tcp-nodelay (also tcp_nodelay), sndbuf and rcvbuf return true and take effect on the
-- connection (the kernel's view through `ss`: a keep-alive timer, and the buffers, which the
-- kernel doubles); another name returns nil, "unsupported option NAME".

local C = require("spec.support.cosocket")

local lines = C.lines

-- ss's lines for the established connections to 127.0.0.1:port (our side of them).
local function ss_to(port)
    local p = assert(io.popen("ss -tnoem state established '( dport = :" .. port .. " )' 2>&1"))
    local out = p:read("a")
    p:close()
    return out
end

describe("sock:setoption", function()
    local env

    lazy_setup(function()
        assert.is_truthy(os.execute("command -v ss >/dev/null"), "this spec needs ss (iproute2)")
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    it("sets keepalive, tcp-nodelay, sndbuf and rcvbuf; refuses an unknown name", function()
        local req = env:start_get("/setoption?" .. env:query({ tag = "so", hold = 800 }))
        assert.are.equal("yes", env:wait_state("setoption_holding"))
        local out = ss_to(env.port)
        local conns = select(2, out:gsub("\n(%S)", "%0"))
        assert.are.equal(1, conns, "one connection to the upstream expected:\n" .. out)
        assert.is_truthy(out:find("timer:(keepalive,", 1, true), "no keep-alive timer:\n" .. out)
        assert.is_truthy(out:find("tb100000", 1, true), "sndbuf 50000 not doubled:\n" .. out)
        assert.is_truthy(out:find("rb80000", 1, true), "rcvbuf 40000 not doubled:\n" .. out)
        assert.are.equal(lines({
            "connect: 1, nil",
            "send: 9, nil",
            "keepalive: true, nil",
            "tcp_nodelay: true, nil",
            "tcp-nodelay: true, nil",
            "sndbuf: true, nil",
            "rcvbuf: true, nil",
            'unknown: nil, "unsupported option no-such-option"',
            'echo: "still", nil, nil',
            "close: 1, nil",
        }), req:finish())
    end)
end)
