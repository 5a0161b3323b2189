-- Waiting calls (req:read(), req:body(), lunaserve.sleep()) inside coroutines that the handler
-- creates behave as they do in the handler itself: the wait suspends every coroutine between
-- the call and the handler, and the event resumes them in order (as in OpenResty). Before,
-- such a call yielded to the coroutine's resumer instead, which got nothing back.

local S = require("spec.support.server")

local APP = S.app("user_coroutines.lua")

local function q(s)
    return string.format("%q", tostring(s))
end

describe("waits in coroutines the handler creates", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("streams a chunked upload back through a coroutine.wrap generator over req:read(), chunk by chunk",
        function()
            local c = srv:connect()
            assert(c:send("POST /generator HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Transfer-Encoding: chunked\r\n\r\n"))
            -- each piece is sent only after the previous one came back: the generator must
            -- hand each chunk over as it arrives
            assert(c:send("5\r\nalpha\r\n"))
            local head = assert(c:read_head(3))
            assert.are.equal(200, head.status)
            assert.are.equal("chunked", head:header("Transfer-Encoding"))
            -- (the head went out before the request body ended: the server ends the
            -- connection after this response, as for any handler that streams so)
            assert.is_true(head:has_token("Connection", "close"), head.raw_head)
            assert.are.equal("[alpha]", c:read_chunk(3))
            assert(c:send("4\r\nbeta\r\n"))
            assert.are.equal("[beta]", c:read_chunk(3))
            assert(c:send("5\r\ngamma\r\n"))
            assert.are.equal("[gamma]", c:read_chunk(3))
            assert(c:send("0\r\n\r\n"))
            assert.are.equal("", c:read_chunk(3))
            local extra, kind = c:read_until_close(3)
            c:close()
            assert.are.equal("", extra)
            assert.are.equal("fin", kind)
        end)

    it("sleeps with lunaserve.sleep() in a coroutine.create'd coroutine, with ordinary yields between the sleeps",
        function()
            local t0 = S.now()
            local res = assert(srv:fetch(S.get("/sleep")))
            local elapsed = S.now() - t0
            assert.are.equal(200, res.status)
            -- resume 1 returns the first yield (after the 100 ms sleep), resume 2 the return
            -- value (after the 50 ms one)
            assert.are.equal("true,2,suspended,true,20,dead", res.body)
            assert.is_true(elapsed >= 0.15, "answered after " .. elapsed .. " s")
        end)

    it("gets the whole body from req:body() inside coroutine.wrap", function()
        local c = srv:connect()
        assert(c:send("POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\n\r\n"))
        S.sleep(0.1) -- the handler waits for the body meanwhile
        assert(c:send("hello"))
        S.sleep(0.1)
        assert(c:send(" world"))
        local res = assert(c:read_response({ timeout = 3 }))
        c:close()
        assert.are.equal(200, res.status)
        assert.are.equal("body=hello world err=nil", res.body)
    end)

    it("waits two coroutines deep, with ordinary yields at both levels, in order", function()
        local c = srv:connect()
        assert(c:send("POST /nested HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n"))
        S.sleep(0.1)
        assert(c:send("hello"))
        S.sleep(0.1)
        assert(c:send("world"))
        local res = assert(c:read_response({ timeout = 3 }))
        c:close()
        assert.are.equal(200, res.status, res.body)
        assert.are.equal(table.concat({
            "inner start",
            "inner read hello",
            "inner slept",
            "outer got true from inner suspended",
            "handler got from outer",
            "outer resumed with first",
            "inner resumed with second",
            "inner read world",
            "outer got true inner done dead",
            "handler got outer done",
        }, "\n") .. "\n", res.body, q(res.body))
    end)
end)
