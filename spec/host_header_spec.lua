-- The Host field (RFC 9112 section 3.2): an HTTP/1.1 request needs exactly one, with a valid
-- value; otherwise 400.
--
-- A refusal (S.refused) is the status line, a response that says Connection: close, nothing
-- after it (a request pipelined behind the bad one is never answered), then a FIN, not a reset.

local S = require("spec.support.server")

local APP = S.app("echo_late_read.lua")

local H = "Host: 127.0.0.1\r\n"
local NEXT = "GET /bytes/1 HTTP/1.1\r\n" .. H .. "\r\n" -- a request pipelined behind

describe("Host (RFC 9112 3.2)", function()
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

    it("answers 400 and closes for an HTTP/1.1 request without Host", function()
        srv:refused("GET /echo HTTP/1.1\r\nAccept: */*\r\n\r\n" .. NEXT, 400)
    end)

    it("answers 400 and closes for two Host fields, even with the same value", function()
        srv:refused("GET /echo HTTP/1.1\r\n" .. H .. H .. "\r\n" .. NEXT, 400)
    end)

    it("answers 400 and closes for a Host value with a space", function()
        srv:refused("GET /echo HTTP/1.1\r\nHost: a b\r\n\r\n" .. NEXT, 400)
    end)
end)
