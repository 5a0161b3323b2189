-- lunaserve.sse keep-alives and --max-timers (README, "Server-sent events"): the keep-alives of
-- all the streams share one timer, so more streams than --max-timers all get their comments,
-- and the app's own timers still start beside them. Streams with different intervals each get
-- theirs on time from that one timer (a shorter interval opened after a longer one too).
--
-- spec/apps/sse_timers.lua: /events?ka=MS (a stream kept open), /timer (the app's own
-- timer.at), /state (fired, pending_timers).
local S = require("spec.support.server")

local STREAMS = 10

describe("lunaserve.sse keep-alives with --max-timers 4", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("sse_timers.lua"), args = { "--max-timers", "4" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("gives " .. STREAMS .. " streams their comments, and the app's own timer.at works",
        function()
            local conns = {}
            for i = 1, STREAMS do
                local c = srv:connect()
                assert(c:send(S.get("/events?ka=200")))
                local head = assert(c:read_head(2))
                assert.are.equal(200, head.status)
                assert.are.equal("text/event-stream", head:header("Content-Type"))
                conns[i] = c
            end
            -- every stream: a comment, then another an interval later
            for round = 1, 2 do
                for i, c in ipairs(conns) do
                    local data, err = c:read_chunk(1.5)
                    assert.are.equal(":\n\n", data, "stream " .. i .. ", comment " .. round
                        .. ": " .. tostring(err))
                end
            end
            local status, body = srv:get_body("/timer", 2)
            assert.are.equal(200, status)
            assert.are.equal("true,nil", body)
            local fired = S.wait_for(function()
                local _, st = srv:get_body("/state", 2)
                return S.parse_kv(st).fired == "1" and "1"
            end, 2, 0.02)
            assert.are.equal("1", fired)
            -- the streams still get theirs
            for i, c in ipairs(conns) do
                assert.are.equal(":\n\n", c:read_chunk(1.5), "stream " .. i .. " after the timer")
                c:close()
            end
        end)

    it("gives streams with different intervals each theirs on time", function()
        local function open(ka)
            local c = srv:connect()
            assert(c:send(S.get("/events?ka=" .. ka)))
            assert.are.equal(200, assert(c:read_head(2)).status)
            return c
        end
        local long = open(1000)
        local t0 = S.now()
        local short = open(150)
        -- the short one's comments come every 150 ms while the long one waits for its second
        local times = {}
        for i = 1, 4 do
            assert.are.equal(":\n\n", short:read_chunk(1), "short stream, comment " .. i)
            times[i] = S.now() - t0
        end
        assert.is_true(times[1] >= 0.13 and times[1] < 0.45, "first short comment at " .. times[1])
        assert.is_true(times[4] - times[1] >= 0.4 and times[4] - times[1] < 0.9,
            "three more short comments took " .. (times[4] - times[1]) .. " s")
        assert.are.equal(":\n\n", long:read_chunk(1.5), "long stream")
        local at = S.now() - t0
        assert.is_true(at >= 0.95 and at < 1.5, "long comment at " .. at .. " s")
        long:close()
        short:close()
    end)
end)
