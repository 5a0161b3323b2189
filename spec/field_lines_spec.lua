-- Header field lines (RFC 9112 section 5, RFC 9110 section 5.5): a line without a colon,
-- whitespace before the colon, an empty name, a bare CR or a NUL in a value is refused with
-- 400; obs-fold is refused or replaced with spaces.
--
-- A refusal (S.refused) is the status line, a response that says Connection: close, nothing
-- after it (a request pipelined behind the bad one is never answered), then a FIN, not a reset.

local S = require("spec.support.server")
local cjson = require("cjson")

local APP = S.app("echo_late_read.lua")
local ECHO = S.root .. "/apps/echo"

local H = "Host: 127.0.0.1\r\n"
local NEXT = "GET /bytes/1 HTTP/1.1\r\n" .. H .. "\r\n" -- a request pipelined behind

local q = S.q

-- How these refusals were checked before they moved here: the response within 5 s, and no look
-- for a keep-alive token in its Connection field.
local REFUSAL = { timeout = 5, keep_alive_token_ok = true }

describe("field lines (RFC 9112 5, RFC 9110 5.5)", function()
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

        it("answers 400 and closes for whitespace between a field name and the colon", function()
            srv:refused("GET /echo HTTP/1.1\r\n" .. H .. "X-A : a\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for an empty field name", function()
            srv:refused("GET /echo HTTP/1.1\r\n" .. H .. ": v\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for a bare CR in a field value", function()
            srv:refused("GET /echo HTTP/1.1\r\n" .. H .. "X-A: a\rX-B: b\r\n\r\n" .. NEXT, 400)
        end)

        it("answers 400 and closes for a NUL in a field value", function()
            srv:refused("GET /echo HTTP/1.1\r\n" .. H .. "X-A: a\0b\r\n\r\n" .. NEXT, 400)
        end)

        it("rejects obs-fold with 400, or replaces it with SP (RFC 9112 5.2), never keeping CR, LF or HTAB",
            function()
                local c = srv:connect()
                assert(c:send("GET /echo HTTP/1.1\r\n" .. H .. "X-Fold: a\r\n\tb\r\n"
                    .. "X-After: z\r\n\r\n"))
                local res = assert(c:read_response())
                if res.status == 400 then
                    assert.is_true(res:has_token("Connection", "close"), res.raw_head)
                    local extra, kind = c:read_until_close(3)
                    assert.are.equal("", extra)
                    assert.are.equal("fin", kind)
                else
                    assert.are.equal(200, res.status, res.raw)
                    local h = cjson.decode(res.body).headers
                    -- the obs-fold (CRLF HTAB) becomes one or more SP
                    assert.is_truthy(h["x-fold"]:match("^a +b$"), q(h["x-fold"]))
                    assert.are.equal("z", h["x-after"])
                    assert.is_true(c:is_open(0.1))
                end
                c:close()
            end)
    end)

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

        it("answers 400 and closes for a header line without a colon", function()
            srv:refused("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n",
                400, REFUSAL)
        end)
    end)
end)
