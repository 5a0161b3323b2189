-- Request size limits (--max-header, --max-url, --max-body, and their defaults of 16 KiB and
-- 1 MiB): a head over the limit gets 431, a target over it 414, a body over it 413, each with
-- Connection: close; anything up to the limit is served. The early 413 to a client still
-- uploading is in early_413_spec.lua.
--
-- A refusal (S.refused) is the status line, a response that says Connection: close, nothing
-- after it (a request pipelined behind the bad one is never answered), then a FIN, not a reset.

local S = require("spec.support.server")
local cjson = require("cjson")

local APP = S.app("echo_late_read.lua")
local ECHO = S.root .. "/apps/echo"

local H = "Host: 127.0.0.1\r\n"
local NEXT = "GET /bytes/1 HTTP/1.1\r\n" .. H .. "\r\n" -- a request pipelined behind

-- How these refusals were checked before they moved here: the response within 5 s, and no look
-- for a keep-alive token in its Connection field.
local REFUSAL = { timeout = 5, keep_alive_token_ok = true }

describe("request size limits", function()
    describe("the defaults", function()
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

        it("answers 431 and closes for a header block over the default 16 KiB", function()
            srv:refused("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                .. string.rep("h", 17000) .. "\r\n\r\n", 431, REFUSAL)
        end)

        it("answers a header block of 12 KiB under the default limit", function()
            local res = assert(srv:fetch("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                .. string.rep("h", 12000) .. "\r\n\r\n"))
            assert.are.equal(200, res.status)
        end)

        it("answers 413 and closes for a Content-Length over the default 1 MiB", function()
            local c = srv:connect()
            assert(c:send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: 1048577\r\n\r\n"))
            local res = assert(c:read_response({ timeout = 3 }))
            assert.are.equal(413, res.status)
            assert.is_true(res:has_token("Connection", "close"))
            c:close()
        end)

        it("accepts a body of exactly 1 MiB by default", function()
            local body = string.rep("m", 1048576)
            local res = assert(srv:fetch(S.request("POST", "/echo", nil, body), { timeout = 10 }))
            assert.are.equal(200, res.status)
            assert.are.equal(1048576, require("cjson").decode(res.body).bodyLength)
        end)
    end)

    describe("--max-header 1024 and --max-body 1000", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = ECHO, args = { "--max-header", "1024", "--max-body", "1000" } })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        describe("431 Request Header Fields Too Large", function()
            it("answers 431 and closes for many small headers over --max-header", function()
                local hs = {}
                for i = 1, 60 do
                    hs[#hs + 1] = string.format("X-H%02d: %s\r\n", i, string.rep("v", 20))
                end
                srv:refused("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n" .. table.concat(hs)
                    .. "\r\n", 431, REFUSAL)
            end)

            it("answers 431 for a header block over the limit that arrives in pieces", function()
                local c = srv:connect()
                local raw = "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                    .. string.rep("p", 1500) .. "\r\n\r\n"
                c:send_slowly(raw, 200, 0.01)
                local res = assert(c:read_response())
                assert.are.equal(431, res.status)
                assert.is_true(res:has_token("Connection", "close"))
                local _, kind = c:read_until_close(3)
                assert.are_not.equal("timeout", kind)
                c:close()
            end)
        end)

        describe("413 Content Too Large", function()
            it("answers 413 and closes for a Content-Length over --max-body", function()
                srv:refused("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    .. "Content-Length: 2000\r\n\r\n" .. string.rep("b", 2000), 413, REFUSAL)
            end)

            it("answers 413 and closes for a chunked body growing over --max-body", function()
                local pieces = {}
                for i = 1, 6 do
                    pieces[i] = string.rep("c", 300)
                end
                srv:refused("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    .. "Transfer-Encoding: chunked\r\n\r\n" .. S.chunked(pieces), 413, REFUSAL)
            end)

            it("accepts a body of exactly --max-body bytes", function()
                local body = string.rep("e", 1000)
                local res = assert(srv:fetch(S.request("POST", "/echo", nil, body)))
                assert.are.equal(200, res.status)
                assert.are.equal(1000, require("cjson").decode(res.body).bodyLength)
            end)

            it("answers 413 before the client sent the body", function()
                local c = srv:connect()
                assert(c:send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    .. "Content-Length: 50000\r\n\r\n"))
                local res = assert(c:read_response({ timeout = 3 }))
                assert.are.equal(413, res.status)
                assert.is_true(res:has_token("Connection", "close"))
                c:close()
            end)
        end)
    end)

    describe("--max-url 100 and --max-header 1024 (S.TIGHT_LIMITS)", function()
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

        it("answers a request target of exactly --max-url bytes", function()
            local target = "/echo/" .. string.rep("u", 100 - 6)
            assert.are.equal(100, #target)
            local res = assert(srv:fetch(S.get(target)))
            assert.are.equal(200, res.status, res.status_line)
            assert.are.equal(target, cjson.decode(res.body).path)
        end)

        it("answers 414 and closes for a request target of --max-url + 1 bytes", function()
            local target = "/echo/" .. string.rep("u", 101 - 6)
            assert.are.equal(101, #target)
            srv:refused(S.get(target) .. NEXT, 414)
        end)

        local function head_of(n)
            local prefix = "GET /echo HTTP/1.1\r\n" .. H .. "X-Pad: "
            local head = prefix .. string.rep("p", n - #prefix - 4) .. "\r\n\r\n"
            assert(#head == n)
            return head
        end

        it("answers a head (request line + fields + final CRLF) of exactly --max-header bytes",
            function()
                local res = assert(srv:fetch(head_of(1024)))
                assert.are.equal(200, res.status, res.status_line)
                local pad = cjson.decode(res.body).headers["x-pad"]
                assert.are.equal(1024 - #("GET /echo HTTP/1.1\r\n" .. H .. "X-Pad: ") - 4, #pad)
            end)

        it("answers 431 and closes for a head of --max-header + 1 bytes", function()
            srv:refused(head_of(1025) .. NEXT, 431)
        end)
    end)
end)
