-- Clients that go away mid-request (docs/ARCHITECTURE.md, the connection contract, point 6):
-- 'close' fires with req.aborted = true, later writes return false and cost nothing, and the
-- server goes on serving everyone else, also when clients reset in the middle of a response.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")
local ECHO = S.root .. "/apps/echo"

describe("clients that go away", function()
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

    it("fires 'close' and sets req.aborted when the client leaves mid-body; writes return false",
        function()
            local c = srv:connect()
            assert(c:send("POST /abort-body HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: 1000\r\n\r\n" .. string.rep("a", 10)))
            S.sleep(0.1)
            c:close()
            local st = srv:wait_state("abort_done")
            assert.are.equal("true", st.abort_done, "the handler never resumed")
            assert.are.equal("false", st.abort_aborted_before)
            assert.are.equal("true", st.abort_aborted)
            assert.are.equal("false", st.abort_write)
            local ev = srv:events()
            assert.is_truthy(ev:find("abort-req-close", 1, true),
                "req 'close' did not fire; events: " .. ev)
            assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
        end)

    it("lets a handler that wakes up after the client reset write harmlessly", function()
        local c = srv:connect()
        assert(c:send(S.get("/abort-sleep?ms=200")))
        S.sleep(0.05)
        c:reset()
        local st = srv:wait_state("sleep_done", 4)
        assert.are.equal("true", st.sleep_done, "the handler never finished")
        assert.is_falsy((st.sleep_writes or ""):find("error"), st.sleep_writes)
        assert.is_truthy((st.sleep_writes or ""):match("false$"), st.sleep_writes)
        assert.are.equal("true", st.sleep_aborted)
        local ev = srv:events()
        assert.is_truthy(ev:find("sleep-req-close", 1, true),
            "req 'close' did not fire; events: " .. ev)
        assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
    end)

    it("fires 'close' with req.aborted when the client closes while the handler sleeps; later writes return false",
        function()
            local c = srv:connect()
            assert(c:send(S.get("/nap?id=1&ms=500")))
            S.sleep(0.15)
            c:close() -- a plain close: FIN (nothing unread on our side)
            local st = S.wait_for(function()
                local s = srv:state()
                return s.done_1 and s
            end, 4, 0.05) or srv:state()
            assert.are.equal("true", st.done_1, "the handler never finished")
            assert.are.equal("false", st.aborted_before_1)
            assert.are.equal("1", st.req_closes_1, "req 'close' fired " .. tostring(st.req_closes_1)
                .. " times")
            assert.are.equal("1", st.closes_at_wake_1, "'close' had not fired when the handler woke")
            assert.are.equal("true", st.aborted_in_close_1)
            assert.are.equal("true", st.aborted_at_wake_1)
            assert.are.equal("true", st.res_close_1)
            assert.are.equal("false,false,false", st.writes_1)
            assert.are.equal("ok", st.finish_1)
            assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
        end)
end)

describe("clients that reset in the middle of a response", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = ECHO })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("keeps serving others when clients reset in the middle of /bytes/50000000", function()
        local other = srv:connect()
        assert(other:send(S.get("/slow/300")))
        for i = 1, 10 do
            local c = srv:connect()
            assert(c:send(S.get("/bytes/50000000")))
            local head = c:read_until("\r\n\r\n", 3)
            assert.is_truthy(head and head:match("^HTTP/1%.1 200 "), "round " .. i)
            assert(c:receive_exact(100000, 3))
            -- close with unread data: the kernel sends a reset while the server is sending
            c:close()
            local r = assert(srv:fetch(S.get("/bytes/5")))
            assert.are.equal("xxxxx", r.body, "round " .. i)
        end
        -- the request in flight on the other connection was not disturbed
        local res = assert(other:read_response({ timeout = 3 }))
        assert.are.equal("slow", res.body)
        assert(other:send(S.get("/bytes/4")))
        assert.are.equal("xxxx", assert(other:read_response()).body)
        other:close()
    end)
end)
