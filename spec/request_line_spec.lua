-- The request line (RFC 9112 section 3): one that is not HTTP gets 400 (after the answers to
-- the good requests before it on the connection), a major version other than 1 gets 505, and a
-- target in absolute-form is served by its path and query.
--
-- A refusal (S.refused) is the status line, a response that says Connection: close, nothing
-- after it (a request pipelined behind the bad one is never answered), then a FIN, not a reset.

local S = require("spec.support.server")
local cjson = require("cjson")

local APP = S.app("echo_late_read.lua")
local ECHO = S.root .. "/apps/echo"

-- How these refusals were checked before they moved here: the response within 5 s, and no look
-- for a keep-alive token in its Connection field.
local REFUSAL = { timeout = 5, keep_alive_token_ok = true }

describe("the request line", function()
    describe("on a server with the default limits", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = ECHO })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        after_each(function()
            -- whatever was refused, the server keeps serving
            local res = assert(srv:fetch(S.get("/bytes/2")))
            assert.are.equal("xx", res.body)
        end)

        it("answers 400 and closes for a request line that is not HTTP", function()
            srv:refused("GARBAGE\r\n\r\n", 400, REFUSAL)
        end)

        it("answers 400 after a good request on the same connection, and answers the good one",
            function()
                local c = srv:connect()
                assert(c:send(S.get("/bytes/3") .. "BAD REQUEST LINE\r\n\r\n"))
                local r1 = assert(c:read_response())
                assert.are.equal("xxx", r1.body)
                local r2 = assert(c:read_response())
                assert.are.equal(400, r2.status)
                assert.is_true(r2:has_token("Connection", "close"))
                local _, kind = c:read_until_close(3)
                assert.are.equal("fin", kind)
                c:close()
            end)

        it("answers 505 and closes for HTTP/2.0 in the request line", function()
            srv:refused("GET /echo HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n", 505, REFUSAL)
        end)

        it("answers 505 and closes for HTTP/3.1 in the request line", function()
            srv:refused("GET /echo HTTP/3.1\r\nHost: 127.0.0.1\r\n\r\n", 505, REFUSAL)
        end)
    end)

    describe("on a server with tight limits", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = APP, args = S.TIGHT_LIMITS })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        after_each(function()
            -- whatever happened, the server still serves
            local res = assert(srv:fetch(S.get("/bytes/2")))
            assert.are.equal("xx", res.body)
        end)

        it("takes path and query from an absolute-form target, ignoring Host (RFC 9112 3.2.2)",
            function()
                local res = assert(srv:fetch("GET http://127.0.0.1/echo/abs?q=1 HTTP/1.1\r\n"
                    .. "Host: other.example\r\n\r\n"))
                assert.are.equal(200, res.status, res.raw)
                local j = cjson.decode(res.body)
                assert.are.equal("/echo/abs", j.path)
                assert.are.equal("q=1", j.query)
            end)
    end)
end)
