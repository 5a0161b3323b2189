-- lunaserve.tcp(): a send timeout closes the socket (only a read timeout leaves it usable), so
-- a reader that waits on the same socket at that moment (another request's handler: full
-- duplex) gets nil, "closed" at once. It must not be left waiting on a socket that no longer
-- has a connection (its read timeout went with it, so it would wait for ever).

local S = require("spec.support.server")
local C = require("spec.support.cosocket")

describe("a send timeout while another coroutine reads", function()
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

    it("ends the reader's wait with nil, 'closed'", function()
        local reader = srv:connect()
        assert(reader:send(S.get("/duplex_reader?name=d1&send_ms=300&port=" .. up.port)))
        S.sleep(0.2) -- the reader waits in receive() (its read timeout is 5 s)
        local t0 = S.now()
        local status, body = srv:get_body("/duplex_writer?name=d1", 3)
        assert.are.equal(200, status, tostring(body))
        assert.are.equal('send big: nil, "timeout"\n', body)
        local res, err = reader:read_response({ timeout = 2 })
        reader:close()
        assert(res, "the reader never answered: " .. tostring(err) .. "\n" .. srv:log())
        assert.are.equal(200, res.status)
        assert.are.equal('connect: 1, nil\nsend: 7, nil\nreceive: nil, "closed", nil\n', res.body)
        -- soon after the writer's timeout, not after the reader's own 5 s
        local took = S.now() - t0
        assert.is_true(took < 1.5, string.format("the reader answered %.2f s later", took))
    end)
end)
