-- Errors in a handler (README, the Lua API: an error answers 500 if the head has not gone out
-- yet, else closes the connection; it is logged with its traceback and the server keeps
-- serving). Closing after the head is docs/ARCHITECTURE.md, the connection contract, point 2:
-- a FIN after what was queued.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

describe("handler errors", function()
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

    it("answers 500 for an error before the head was sent, logs the traceback, keeps serving",
        function()
            local res = assert(srv:fetch(S.get("/error")))
            assert.are.equal(500, res.status)
            assert.is_truthy((srv:wait_log("boom-before-head")), srv:log())
            assert.is_truthy(srv:log():find("traceback", 1, true), srv:log())
            assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
        end)

    it("answers 500 for an error after the handler yielded", function()
        local res = assert(srv:fetch(S.get("/error-after-sleep")))
        assert.are.equal(500, res.status)
        assert.is_truthy((srv:wait_log("boom-after-sleep")), srv:log())
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
        assert.is_truthy((srv:wait_log("boom-after-head")), srv:log())
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
