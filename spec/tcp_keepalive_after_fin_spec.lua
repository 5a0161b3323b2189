-- lunaserve.tcp(): setkeepalive() on a socket whose peer has closed (its FIN came in while no
-- receive was waiting) refuses with nil, "closed", and the connection is then closed: it no
-- longer counts in its pool, so a pool bounded to one live connection (pool_size 1, backlog
-- 1) takes the next connect at once, even while the app keeps the refused socket object.

local C = require("spec.support.cosocket")

describe("setkeepalive after the peer's FIN", function()
    local env, up, srv

    lazy_setup(function()
        env = C.start({ app = "tcp_edges.lua" })
        up, srv = env.up, env.srv
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    it("refuses with 'closed' and frees the pool's room", function()
        local status, body = srv:get_body("/keepalive_after_fin?pool=kf&tag=kf2&port=" .. up.port, 5)
        assert.are.equal(200, status, tostring(body))
        assert.are.equal(table.concat({
            "connect: 1, nil",
            "send: 15, nil",
            'receive: "hi", nil, nil',
            'keepalive: nil, "closed"',
            "connect 2: 1, nil",
            "send 2: 15, nil",
            'receive 2: "ping", nil, nil',
            "close 2: 1, nil",
        }, "\n") .. "\n", body)
    end)
end)
