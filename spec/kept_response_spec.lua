-- A response the app keeps on purpose is the app's to finish: the check for handlers that
-- return without finishing (spec/unfinished_handler_spec.lua) must not touch it, however many
-- collections run meanwhile. Kept means referenced from Lua (a table of long polls), or due to
-- be finished by a listener the request still holds: req 'data'/'end' before the body has
-- ended (Node style), res 'drain' while a drain is pending.

local S = require("spec.support.server")

local APP = S.app("unfinished.lua")

-- Lets the server's own forced collection happen (it follows a handler that returned
-- unfinished, at most one a second), then runs two more from the app.
local function collect(srv)
    S.sleep(1.2)
    local status, body = srv:get_body("/collect", 3)
    assert.are.equal(200, status, tostring(body))
end

describe("a response the app keeps", function()
    local srv

    before_each(function()
        srv = S.start({ app = APP })
    end)

    after_each(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("in a table gets its real response when another request finishes it", function()
        local c = srv:connect()
        assert(c:send(S.get("/park?id=a")))
        collect(srv)
        local status, body = srv:get_body("/release?id=a", 3)
        assert.are.equal(200, status, tostring(body))
        assert.are.equal("true", body) -- finish() on the kept response succeeded
        local res = assert(c:read_response({ timeout = 3 }))
        c:close()
        assert.are.equal(200, res.status)
        assert.are.equal("released a", res.body)
        assert.is_falsy(srv:log():find("without finishing", 1, true), srv:log())
    end)

    it("through req 'data' and 'end' listeners is finished by them once the body comes (Node style)",
        function()
            local c = srv:connect()
            assert(c:send("POST /node HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nhello"))
            collect(srv)
            assert(c:send("world"))
            local res = assert(c:read_response({ timeout = 3 }))
            c:close()
            assert.are.equal(200, res.status)
            assert.are.equal("node:helloworld", res.body)
            assert.is_falsy(srv:log():find("without finishing", 1, true), srv:log())
        end)

    it("through a res 'drain' listener is finished by it once the client reads", function()
        local n = 8 * 1024 * 1024
        local c = S.connect_with(srv.port, { rcvbuf = 4096 })
        assert(c:send(S.get("/drain-listener?n=" .. n)))
        collect(srv) -- the client reads nothing meanwhile: the drain stays pending
        local res = assert(c:read_response({ timeout = 10 }))
        c:close()
        assert.are.equal(200, res.status)
        assert.are.equal(n + 3, #res.body)
        assert.are.equal(string.rep("d", n) .. "END", res.body)
        assert.is_falsy(srv:log():find("without finishing", 1, true), srv:log())
    end)
end)
