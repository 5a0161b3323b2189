-- A waiting call (req:read(), lunaserve.sleep(), ...) where no handler is under it (a
-- listener, a coroutine made there) could never be resumed: it raises an error that names the
-- call, at the line that made it. (Waits while the app loads work: spec/load_waits_spec.lua.)

local S = require("spec.support.server")

local APP = S.app("wait_outside_handler.lua")

local function count(s, text)
    local n, i = 0, 1
    while true do
        local _, e = s:find(text, i, true)
        if not e then
            return n
        end
        n, i = n + 1, e + 1
    end
end

describe("a wait outside a request handler", function()
    describe("in a listener", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = APP })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("raises in req:read() with the call named: 500, logged with the request line", function()
            local c = srv:connect()
            assert(c:send("POST /read-in-listener HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: 10\r\n\r\nhello"))
            local res = assert(c:read_response({ timeout = 3 }))
            c:close()
            assert.are.equal(500, res.status)
            local line = "error in a listener for POST /read-in-listener: " .. APP
                .. ":21: req:read() must run inside a request handler or a coroutine it created"
            assert.is_true(srv:wait_log(line, 3), srv:log())
            assert.are.equal(1, count(srv:log(), line), srv:log())
        end)

        it("raises in lunaserve.sleep() in a coroutine a listener made; the response stands",
            function()
                local res = assert(srv:fetch(S.get("/sleep-in-listener")))
                assert.are.equal(200, res.status)
                assert.are.equal("finished", res.body)
                -- ('finish' comes once the request is over: no request line)
                local line = "error in a listener: " .. APP .. ":31: " .. APP .. ":32: "
                    .. "lunaserve.sleep() must run inside a request handler or a coroutine it "
                    .. "created"
                assert.is_true(srv:wait_log(line, 3), srv:log())
                assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
            end)
    end)
end)
