-- The connection lifecycle contract of DESIGN.md, points 1-4 and 6-8 (point 5, timeouts, is in
-- limits_spec.lua). What cannot be seen on the wire is recorded by spec/apps/lifecycle.lua and
-- read back through its /state and /events routes on another connection.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

describe("lifecycle contract", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function state()
        local res = assert(srv:fetch(S.get("/state")))
        assert.are.equal(200, res.status)
        return S.parse_kv(res.body)
    end

    local function events()
        local res = assert(srv:fetch(S.get("/events")))
        assert.are.equal(200, res.status)
        return res.body
    end

    local function count(hay, needle)
        local n, i = 0, 1
        while true do
            local a, b = hay:find(needle, i, true)
            if not a then
                return n
            end
            n, i = n + 1, b + 1
        end
    end

    -- Polls /state until key is set (bounded).
    local function wait_state(key, timeout)
        return S.wait_for(function()
            local st = state()
            return st[key] and st
        end, timeout or 3, 0.05) or state()
    end

    local function wait_log(text, timeout)
        return S.wait_for(function()
            return srv:log():find(text, 1, true) ~= nil
        end, timeout or 3, 0.05)
    end

    before_each(function()
        assert.are.equal("reset", assert(srv:fetch(S.get("/reset"))).body)
    end)

    describe("1: finish", function()
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
            local st = state()
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
            assert.are.equal(1, count(list[2].body, "finish:2"), list[2].body)
            c:close()
            S.sleep(0.1)
            assert.are.equal(1, count(events(), "finish:2"))
        end)

        it("returns from finish at once but emits 'finish' only when the kernel took the last byte",
            function()
                local n = 32 * 1024 * 1024
                local c = srv:connect()
                assert(c:send(S.get("/big-finish?n=" .. n)))
                -- the client does not read: the kernel cannot take 32 MiB
                local ev = S.wait_for(function()
                    local e = events()
                    return e:find("big-handler-done", 1, true) and e
                end, 3, 0.05)
                assert.is_truthy(ev, "the handler did not get past finish()")
                S.sleep(0.2)
                assert.is_falsy(events():find("bigfinish", 1, true),
                    "'finish' fired while most of the response was still queued")
                local res = assert(c:read_response({ timeout = 20 }))
                assert.are.equal(n, #res.body)
                local fired = S.wait_for(function()
                    return events():find("bigfinish", 1, true)
                end, 3, 0.05)
                assert.is_truthy(fired, "'finish' never fired after the client read everything")
                c:close()
            end)
    end)

    describe("2 and 3: keep-alive decision", function()
    end)

    describe("4: destroy", function()
        it("res:destroy() closes the connection with no response; 'close' fires; later calls are harmless",
            function()
                local c = srv:connect()
                assert(c:send(S.get("/destroy")))
                local data, kind = c:read_until_close(3)
                assert.are.equal("", data)
                assert.are_not.equal("timeout", kind)
                c:close()
                local st = wait_state("destroy_done")
                assert.are.equal("true", st.destroy_done)
                assert.are_not.equal("ok:true", st.destroy_write)
                assert.is_truthy(S.wait_for(function()
                    return events():find("res-close", 1, true)
                end, 2, 0.05), "res 'close' did not fire")
                -- the server is fine
                assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
            end)

        it("req:destroy() closes the connection with no response; later calls are harmless",
            function()
                local c = srv:connect()
                assert(c:send(S.get("/req-destroy")))
                local data, kind = c:read_until_close(3)
                assert.are.equal("", data)
                assert.are_not.equal("timeout", kind)
                c:close()
                local st = wait_state("reqdestroy_done")
                assert.are.equal("true", st.reqdestroy_done)
                assert.are_not.equal("ok:true", st.reqdestroy_write)
                assert.is_truthy(S.wait_for(function()
                    return events():find("res-close", 1, true)
                end, 2, 0.05), "res 'close' did not fire")
                assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
            end)

        it("discards queued output and resets the connection when destroyed with data unsent",
            function()
                local n = 32 * 1024 * 1024
                local c = srv:connect()
                assert(c:send(S.get("/destroy-unsent?n=" .. n)))
                wait_state("unsent_done")
                S.sleep(0.1)
                local data, kind = c:read_until_close(10)
                assert.are.equal("reset", kind)
                assert.is_true(#data < n, "all queued output was delivered after destroy")
                c:close()
                assert.are.equal("false", state().unsent_write)
                assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
            end)
    end)

    describe("6: client disconnects", function()
        it("fires 'close' and sets req.aborted when the client leaves mid-body; writes return false",
            function()
                local c = srv:connect()
                assert(c:send("POST /abort-body HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    .. "Content-Length: 1000\r\n\r\n" .. string.rep("a", 10)))
                S.sleep(0.1)
                c:close()
                local st = wait_state("abort_done")
                assert.are.equal("true", st.abort_done, "the handler never resumed")
                assert.are.equal("false", st.abort_aborted_before)
                assert.are.equal("true", st.abort_aborted)
                assert.are.equal("false", st.abort_write)
                local ev = events()
                assert.is_truthy(ev:find("abort-req-close", 1, true),
                    "req 'close' did not fire; events: " .. ev)
                assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
            end)

        it("lets a handler that wakes up after the client reset write harmlessly", function()
            local c = srv:connect()
            assert(c:send(S.get("/abort-sleep?ms=200")))
            S.sleep(0.05)
            c:reset()
            local st = wait_state("sleep_done", 4)
            assert.are.equal("true", st.sleep_done, "the handler never finished")
            assert.is_falsy((st.sleep_writes or ""):find("error"), st.sleep_writes)
            assert.is_truthy((st.sleep_writes or ""):match("false$"), st.sleep_writes)
            assert.are.equal("true", st.sleep_aborted)
            local ev = events()
            assert.is_truthy(ev:find("sleep-req-close", 1, true),
                "req 'close' did not fire; events: " .. ev)
            assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
        end)
    end)

    describe("8: handler errors", function()
        it("answers 500 for an error before the head was sent, logs the traceback, keeps serving",
            function()
                local res = assert(srv:fetch(S.get("/error")))
                assert.are.equal(500, res.status)
                assert.is_truthy(wait_log("boom-before-head"), srv:log())
                assert.is_truthy(srv:log():find("traceback", 1, true), srv:log())
                assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
            end)

        it("answers 500 for an error after the handler yielded", function()
            local res = assert(srv:fetch(S.get("/error-after-sleep")))
            assert.are.equal(500, res.status)
            assert.is_truthy(wait_log("boom-after-sleep"), srv:log())
        end)

        it("answers 500 for an error, then serves a request pipelined on the same connection or closes cleanly",
            function()
                local c = srv:connect()
                assert(c:send(S.get("/error") .. S.get("/ping")))
                local r1 = assert(c:read_response())
                assert.are.equal(500, r1.status)
                if r1:has_token("Connection", "close") then
                    local extra, kind = c:read_until_close(3)
                    assert.are.equal("", extra)
                    assert.are.equal("fin", kind)
                else
                    assert.are.equal("pong", assert(c:read_response()).body)
                end
                c:close()
            end)

        it("closes the connection for an error after a chunked head was sent", function()
            local c = srv:connect()
            assert(c:send(S.get("/error-after-head")))
            local res, err, partial = c:read_response({ timeout = 5 })
            assert.is_nil(res, "the response was completed despite the error")
            assert.is_truthy(err:find("closed", 1, true), err)
            assert.are.equal(200, partial.status)
            assert.are.equal("partial", partial.body)
            c:close()
            assert.is_truthy(wait_log("boom-after-head"), srv:log())
            assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
        end)

        it("closes the connection for an error after a Content-Length head was sent", function()
            local c = srv:connect()
            assert(c:send(S.get("/error-after-head-length")))
            local res, err, partial = c:read_response({ timeout = 5 })
            assert.is_nil(res, "the response was completed despite the error")
            assert.is_truthy(err:find("closed", 1, true), err)
            assert.are.equal(200, partial.status)
            assert.are.equal("partial", partial.body)
            c:close()
            assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
        end)
    end)
end)
