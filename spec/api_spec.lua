-- The Lua API (docs/ARCHITECTURE.md) as seen from the wire: req fields and body reading, res
-- headers, status, writeHead, the end alias, response-splitting protection. Backpressure is in
-- backpressure_spec.lua, finish and destroy in finish_spec.lua and destroy_spec.lua.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

describe("Lua API", function()
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
        return S.parse_kv(assert(srv:fetch(S.get("/state"))).body)
    end

    describe("req", function()
        it("exposes method, url, path, query, httpVersion and remoteAddress", function()
            local res = assert(srv:fetch("DELETE /req-info?a=1&b=%20x HTTP/1.1\r\n"
                .. "Host: 127.0.0.1\r\n\r\n"))
            assert.are.equal(200, res.status)
            local t = S.parse_kv(res.body)
            assert.are.equal("DELETE", t.method)
            assert.are.equal("/req-info?a=1&b=%20x", t.url)
            assert.are.equal("/req-info", t.path)
            assert.are.equal("a=1&b=%20x", t.query)
            assert.are.equal("1.1", t.httpVersion)
            assert.are.equal("127.0.0.1", t.remoteAddress)
            assert.are.equal("false", t.aborted)
        end)

        it("reports httpVersion 1.0 for an HTTP/1.0 request", function()
            local res = assert(srv:fetch("GET /req-info HTTP/1.0\r\n\r\n"))
            assert.are.equal("1.0", S.parse_kv(res.body).httpVersion)
        end)

        it("lower-cases header names and joins repeats with ', '", function()
            local res = assert(srv:fetch("GET /req-info HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "X-Mixed-Case: v1\r\nX-Rep: one\r\nX-REP: two\r\n\r\n"))
            local t = S.parse_kv(res.body)
            assert.are.equal("v1", t.h_x_mixed_case)
            assert.is_nil(t.h_X_Mixed_Case)
            assert.are.equal("one, two", t.h_x_rep)
        end)

        it("keeps rawHeaders in order with the original case", function()
            local res = assert(srv:fetch("GET /req-info HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "X-Mixed-Case: v1\r\nX-Rep: one\r\nX-REP: two\r\n\r\n"))
            local raw = S.parse_kv(res.body).rawHeaders
            assert.are.equal("Host|127.0.0.1|X-Mixed-Case|v1|X-Rep|one|X-REP|two", raw)
        end)

        it("reads the whole body with req:body() and sets complete", function()
            local res = assert(srv:fetch(S.request("POST", "/body", nil, "the body")))
            assert.are.equal("the body", res.body)
            assert.are.equal("true", res:header("X-Complete"))
        end)

        it("returns an empty body from req:body() for a request without one", function()
            local res = assert(srv:fetch(S.get("/body")))
            assert.are.equal(200, res.status)
            assert.are.equal("", res.body)
        end)

        it("reads a body arriving in pieces with req:read() until nil", function()
            local c = srv:connect()
            assert(c:send("POST /read-loop HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: 15\r\n\r\n"))
            assert(c:send_slowly("aaaaabbbbbccccc", 5, 0.05))
            local res = assert(c:read_response())
            assert.are.equal("aaaaabbbbbccccc", res.body)
            assert.is_true(tonumber(res:header("X-Reads")) >= 1)
            assert.are.equal("true", res:header("X-Complete"))
            c:close()
        end)

        it("delivers the body through req:on('data') and req:on('end')", function()
            local c = srv:connect()
            assert(c:send("POST /on-data HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: 12\r\n\r\n"))
            S.sleep(0.05)
            assert(c:send_slowly("hello, world", 4, 0.03))
            local res = assert(c:read_response())
            assert.are.equal("data:hello, world", res.body)
            c:close()
        end)

        it("delivers a body sent with the head through req:on('data') and 'end'", function()
            local res = assert(srv:fetch(S.request("POST", "/on-data", nil, "all at once")))
            assert.are.equal("data:all at once", res.body)
        end)

        it("fires req:on('end') for a request without a body", function()
            local res = assert(srv:fetch(S.get("/on-data")))
            assert.are.equal("data:", res.body)
        end)
    end)

    describe("res", function()
        it("sets, gets, tests and removes headers, case-insensitively", function()
            local res = assert(srv:fetch(S.get("/headers-api")))
            assert.are.equal(200, res.status)
            local t = S.parse_kv(res.body)
            assert.are.equal("1", t.get_same_case)
            assert.are.equal("1", t.get_lower_case)
            assert.are.equal("nil", t.get_missing)
            assert.are.equal("true", t.has_one)
            assert.are.equal("true", t.has_lower)
            assert.are.equal("false", t.has_missing)
            assert.are.equal("false", t.has_two_after_remove)
            assert.are.equal("nil", t.get_two_after_remove)
            assert.are.equal("false", t.headers_sent_before)
            assert.are.equal("1", res:header("X-One"))
            assert.is_nil(res:header("X-Two"))
            assert.are.equal("new", res:header("X-Replaced"))
            assert.are.equal(1, res:header_count("X-Replaced"))
            assert.are.equal("text/plain", res:header("Content-Type"))
        end)

        it("writes status, reason and headers with writeHead", function()
            local res = assert(srv:fetch(S.get("/writehead")))
            assert.are.equal("HTTP/1.1 201 Made", res.status_line)
            assert.are.equal("w", res:header("X-W"))
            assert.are.equal("ok", res.body)
        end)

        it("writes a status with a reason phrase when writeHead gets only a status", function()
            local res = assert(srv:fetch(S.get("/writehead-status-only")))
            assert.are.equal(202, res.status)
            assert.is_truthy(res.status_line:match("^HTTP/1%.1 202 "), res.status_line)
            assert.are.equal("accepted", res.body)
        end)

        it("uses statusCode and statusMessage set as fields", function()
            local res = assert(srv:fetch(S.get("/status-props")))
            assert.are.equal("HTTP/1.1 202 Fine", res.status_line)
            assert.are.equal("x", res.body)
            assert.are.equal("202", state().status_code_read)
        end)

        it("reports headersSent and finished", function()
            local res = assert(srv:fetch(S.get("/headers-sent")))
            assert.are.equal("ab", res.body)
            local st = state()
            assert.are.equal("false", st.hs_before)
            assert.are.equal("true", st.hs_after_write)
            assert.are.equal("false", st.finished_before_finish)
            assert.are.equal("true", st.finished_after_finish)
        end)

        it("makes res['end'] the same function as res:finish", function()
            local res = assert(srv:fetch(S.get("/end-alias")))
            assert.are.equal("via end", res.body)
            assert.are.equal("true", state().end_is_finish)
        end)

        it("answers 404 from the app for an unknown path (the app's own choice)", function()
            local res = assert(srv:fetch(S.get("/nowhere")))
            assert.are.equal(404, res.status)
            assert.are.equal("no route /nowhere", res.body)
        end)
    end)

    describe("response splitting", function()
        it("raises a Lua error for CR, LF or NUL in a header name or value given to setHeader",
            function()
                local res = assert(srv:fetch(S.get("/inject-setheader")))
                assert.are.equal(200, res.status)
                local t = S.parse_kv(res.body)
                for _, k in ipairs({ "value_crlf", "value_lf", "value_cr", "value_nul",
                    "name_crlf", "name_lf", "name_nul" }) do
                    assert.are.equal("error", t[k], k)
                end
                assert.are.equal("ok:", t.good:sub(1, 3))
                assert.are.equal("fine", res:header("X-Good"))
                assert.is_nil(res:header("X-Injected"))
                assert.is_falsy(res.raw_head:find("Injected", 1, true))
            end)

        it("raises a Lua error for CR or LF in headers given to writeHead", function()
            local res = assert(srv:fetch(S.get("/inject-writehead")))
            assert.are.equal(200, res.status)
            assert.are.equal("both-raised", res.body)
            assert.is_falsy(res.raw_head:find("Injected", 1, true))
        end)
    end)
end)
