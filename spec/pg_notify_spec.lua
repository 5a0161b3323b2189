-- LISTEN/NOTIFY through lunaserve.pg (issue 11, "Notifications"): a handler that listens waits
-- for the next notification with a timeout; a NOTIFY from another request (pool:notify) or from
-- psql arrives with its channel and payload, notifications on other channels do not, two sent
-- together both arrive in order, a wait whose connection the server ends returns at once, and
-- a wait with nothing to hear ends with nil, "timeout".

local P = require("spec.support.postgres")
local J = require("spec.support.pg_client")
local S = require("spec.support.server")

describe("pg LISTEN/NOTIFY", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_pool.lua")
    end)

    lazy_teardown(function()
        J.stop(pg, srv)
    end)

    -- A /listen handler, once it waits on `channel`.
    local function listener(channel, query)
        local req = J.start(srv, "/listen?channel=" .. J.enc(channel) .. "&" .. query)
        assert.is_truthy(S.wait_for(function()
            local c = srv:connect()
            assert(c:send(S.get("/listening?channel=" .. J.enc(channel))))
            local res = assert(c:read_response())
            c:close()
            return res.body == "yes"
        end, 2, 0.02), "the handler does not listen on " .. channel)
        return req
    end

    local function notify(channel, payload)
        local t = J.get(srv, "/notify?channel=" .. J.enc(channel) .. "&payload=" .. J.enc(payload))
        assert.is_true(t.ok, J.show(t))
    end

    it("delivers a NOTIFY from another request (pool:notify) with its channel and payload", function()
        local channel, payload = "Chat Room", "héllo, 'quoted' \"twice\"; DROP TABLE x"
        local req = listener(channel, "timeout=3")
        notify("other channel", "not for it")
        notify(channel, payload)
        local t, took = req:finish(4)
        assert.is_true(took < 1.5, "the notification came after " .. took .. " s")
        assert.are.equal(1, #t.notes, J.show(t))
        local n = t.notes[1]
        assert.are.same({ channel, payload }, { n.channel, n.payload }, J.show(t))
        assert.are.equal("number", type(n.pid))
        assert.are_not.equal(t.pid, n.pid) -- sent by another backend
    end)

    it("delivers a NOTIFY from psql, on a connection of the handler's own", function()
        local req = listener("from_psql", "timeout=3&via=own")
        pg:psql("NOTIFY from_psql, 'sent by psql'")
        local t = req:finish(4)
        assert.are.equal(1, #t.notes, J.show(t))
        assert.are.same({ "from_psql", "sent by psql" }, { t.notes[1].channel, t.notes[1].payload })
    end)

    it("delivers two notifications sent together, in order", function()
        local req = listener("pair", "timeout=3&count=2")
        pg:psql("SELECT pg_notify('pair', 'one'), pg_notify('pair', 'two')")
        local t = req:finish(4)
        assert.is_nil(t.err, J.show(t))
        assert.are.equal(2, #t.notes, J.show(t))
        assert.are.same({ "one", "two" }, { t.notes[1].payload, t.notes[2].payload })
    end)

    it("ends a wait at once with 'closed: ...' when the server ends the connection", function()
        local req = listener("doomed", "timeout=5")
        local t0 = S.now()
        assert.are.equal("t", pg:psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            .. " WHERE usename = 'app' AND query = 'LISTEN \"doomed\"'", "postgres"))
        local t = req:finish(3)
        assert.is_true(S.now() - t0 < 1, "the wait ended after " .. (S.now() - t0) .. " s")
        assert.are.equal(0, #t.notes, J.show(t))
        assert.are.equal("closed: server closed the connection unexpectedly",
            t.err:sub(1, #"closed: server closed the connection unexpectedly"), J.show(t))
        local s = J.get(srv, "/stats?pool=main")
        assert.are.same({ 0, 0 }, { s.live, s.idle }, J.show(s))
    end)

    it("ends a wait with nothing to hear with nil, 'timeout' after its timeout", function()
        local req = listener("quiet", "timeout=0.3")
        notify("loud", "not for it")
        local t = req:finish(3)
        assert.are.equal("timeout", t.err, J.show(t))
        assert.are.equal(0, #t.notes, J.show(t))
        assert.is_true(t.took >= 0.295 and t.took < 0.5, "the wait ended after " .. t.took .. " s")
    end)
end)
