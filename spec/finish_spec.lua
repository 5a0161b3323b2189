-- res:finish() (docs/ARCHITECTURE.md, the connection contract, point 1): it queues the data and
-- the end of the response and returns at once; a second call sends nothing and returns false;
-- 'finish' fires once, when the kernel has taken the last byte, before the next pipelined
-- request is handled. What cannot be seen on the wire, spec/apps/lifecycle.lua records and
-- reports through /state and /events.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

describe("res:finish()", function()
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

    it("sends the first finish's data and returns false from a second finish", function()
        local c = srv:connect()
        assert(c:send(S.get("/finish-twice?id=1") .. S.get("/ping")))
        local res = assert(c:read_response())
        assert.are.equal(200, res.status)
        assert.are.equal("first", res.body)
        -- nothing of the second call reaches the wire: the next response follows at once
        local nxt = assert(c:read_response())
        assert.are.equal("pong", nxt.body)
        c:close()
        local st = srv:state()
        assert.are_not.equal("false", st.finish1_1)
        assert.are_not.equal("nil", st.finish1_1)
        assert.are.equal("false", st.finish2_1)
        assert.are.equal("false", st.finished_before_1)
        assert.are.equal("true", st.finished_after_1)
    end)

    it("emits 'finish' once, before the next pipelined request is handled", function()
        local c = srv:connect()
        assert(c:send(S.get("/finish-twice?id=2") .. S.get("/events")))
        local list = assert(c:read_responses(2))
        assert.are.equal("first", list[1].body)
        assert.are.equal(1, S.count(list[2].body, "finish:2"), list[2].body)
        c:close()
        S.sleep(0.1)
        assert.are.equal(1, S.count(srv:events(), "finish:2"))
    end)

    it("returns from finish at once but emits 'finish' only when the kernel took the last byte",
        function()
            local n = 32 * 1024 * 1024
            local c = srv:connect()
            assert(c:send(S.get("/big-finish?n=" .. n)))
            -- the client does not read: the kernel cannot take 32 MiB
            local ev = S.wait_for(function()
                local e = srv:events()
                return e:find("big-handler-done", 1, true) and e
            end, 3, 0.05)
            assert.is_truthy(ev, "the handler did not get past finish()")
            S.sleep(0.2)
            assert.is_falsy(srv:events():find("bigfinish", 1, true),
                "'finish' fired while most of the response was still queued")
            local res = assert(c:read_response({ timeout = 20 }))
            assert.are.equal(n, #res.body)
            local fired = S.wait_for(function()
                return srv:events():find("bigfinish", 1, true)
            end, 3, 0.05)
            assert.is_truthy(fired, "'finish' never fired after the client read everything")
            c:close()
        end)
end)
