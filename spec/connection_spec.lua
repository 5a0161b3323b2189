-- Persistent connections (RFC 9112 section 9.3): keep-alive and close for HTTP/1.0 and 1.1,
-- the Keep-Alive announcement, Date, pipelining, and the keep-alive idle timeout.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")
local ECHO = S.root .. "/apps/echo"

describe("connections", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    describe("HTTP/1.1", function()
        it("keeps the connection open after a response by default", function()
            local c = srv:connect()
            for i = 1, 3 do
                assert(c:send(S.get("/ping")))
                local res = assert(c:read_response())
                assert.are.equal(200, res.status)
                assert.are.equal("pong", res.body)
                assert.is_false(res:has_token("Connection", "close"))
            end
            assert.is_true(c:is_open(0.1))
            c:close()
        end)

        it("announces Keep-Alive: timeout=5 on keep-alive responses", function()
            local c = srv:connect()
            assert(c:send(S.get("/ping")))
            local res = assert(c:read_response())
            assert.are.equal("timeout=5", res:header("Keep-Alive"))
            c:close()
        end)

        it("answers with HTTP/1.1 and a Date in IMF-fixdate format", function()
            local res = assert(srv:fetch(S.get("/ping")))
            assert.are.equal("HTTP/1.1", res.version)
            assert.are.equal(1, res:header_count("Date"))
            assert.is_truthy(res:header("Date"):match(S.IMF_FIXDATE), res:header("Date"))
        end)

        it("sends a current Date", function()
            local res = assert(srv:fetch(S.get("/ping")))
            local months = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7,
                Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }
            local d, mon, y, h, mi, sec = res:header("Date"):match(
                "^%a+, (%d+) (%a+) (%d+) (%d+):(%d+):(%d+) GMT$")
            assert.is_truthy(d, res:header("Date"))
            local now = os.time()
            local utc_now = os.time(os.date("!*t", now))
            local t = os.time({ year = tonumber(y), month = months[mon], day = tonumber(d),
                hour = tonumber(h), min = tonumber(mi), sec = tonumber(sec) })
            assert.is_true(math.abs(t - utc_now) <= 3,
                "Date " .. res:header("Date") .. " is not now")
        end)

        it("closes after the response when the request says Connection: close", function()
            local c = srv:connect()
            assert(c:send(S.get("/ping", { { "Connection", "close" } })))
            local res = assert(c:read_response())
            assert.are.equal("pong", res.body)
            assert.is_true(res:has_token("Connection", "close"))
            assert.is_false(res:has_token("Connection", "keep-alive"))
            local extra, kind = c:read_until_close(3)
            assert.are.equal("", extra)
            assert.are.equal("fin", kind)
            c:close()
        end)

        it("treats the close option case-insensitively and within a list", function()
            for _, v in ipairs({ "Close", "CLOSE", "foo, close", "close, TE" }) do
                local c = srv:connect()
                assert(c:send("GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: " .. v
                    .. "\r\n" .. (v:find("TE") and "TE: trailers\r\n" or "") .. "\r\n"))
                local res = assert(c:read_response())
                assert.are.equal("pong", res.body)
                assert.is_true(res:has_token("Connection", "close"), v)
                local _, kind = c:read_until_close(3)
                assert.are.equal("fin", kind, v)
                c:close()
            end
        end)

        it("does not answer a request pipelined after Connection: close", function()
            local c = srv:connect()
            assert(c:send(S.get("/ping", { { "Connection", "close" } }) .. S.get("/ping")))
            local res = assert(c:read_response())
            assert.are.equal("pong", res.body)
            local extra, kind = c:read_until_close(3)
            assert.are.equal("", extra)
            assert.are_not.equal("timeout", kind)
            c:close()
        end)

        it("keeps the connection open when the request says Connection: keep-alive", function()
            local c = srv:connect()
            assert(c:send(S.get("/ping", { { "Connection", "keep-alive" } })))
            local res = assert(c:read_response())
            assert.is_false(res:has_token("Connection", "close"))
            assert(c:send(S.get("/ping")))
            assert.are.equal("pong", assert(c:read_response()).body)
            c:close()
        end)

        it("starts res.shouldKeepAlive true, false with Connection: close", function()
            local c = srv:connect()
            assert(c:send(S.get("/ska")))
            assert.are.equal("true", assert(c:read_response()).body)
            assert(c:send(S.get("/ska", { { "Connection", "close" } })))
            assert.are.equal("false", assert(c:read_response()).body)
            c:close()
        end)
    end)

    describe("HTTP/1.0", function()
        it("closes after the response by default, saying Connection: close", function()
            local c = srv:connect()
            assert(c:send("GET /ping HTTP/1.0\r\n\r\n"))
            local res = assert(c:read_response())
            assert.are.equal("HTTP/1.1", res.version)
            assert.are.equal("pong", res.body)
            assert.is_true(res:has_token("Connection", "close"))
            local extra, kind = c:read_until_close(3)
            assert.are.equal("", extra)
            assert.are.equal("fin", kind)
            c:close()
        end)

        it("keeps the connection with Connection: keep-alive and says so", function()
            local c = srv:connect()
            assert(c:send("GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
            local res = assert(c:read_response())
            assert.are.equal("pong", res.body)
            assert.is_true(res:has_token("Connection", "keep-alive"))
            assert.are.equal("timeout=5", res:header("Keep-Alive"))
            assert.is_true(c:is_open(0.1))
            assert(c:send("GET /ping HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))
            local res2 = assert(c:read_response())
            assert.are.equal("pong", res2.body)
            assert(c:send("GET /ping HTTP/1.0\r\n\r\n"))
            local res3 = assert(c:read_response())
            assert.are.equal("pong", res3.body)
            assert.is_true(res3:has_token("Connection", "close"))
            local _, kind = c:read_until_close(3)
            assert.are.equal("fin", kind)
            c:close()
        end)

        it("starts res.shouldKeepAlive false, true with Connection: keep-alive", function()
            local c = srv:connect()
            assert(c:send("GET /ska HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
            assert.are.equal("true", assert(c:read_response()).body)
            assert(c:send("GET /ska HTTP/1.0\r\n\r\n"))
            assert.are.equal("false", assert(c:read_response()).body)
            c:close()
        end)

        it("closes a keep-alive HTTP/1.0 connection after a stream of unknown length",
            function()
                local c = srv:connect()
                assert(c:send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
                local res = assert(c:read_response())
                assert.are.equal("close", res.framing)
                assert.are.equal("abcdef", res.body)
                assert.is_true(res:has_token("Connection", "close"))
                assert.is_nil(res:header("Transfer-Encoding"))
                assert.are.equal("fin", res.end_kind)
                c:close()
            end)
    end)

    describe("concurrency", function()
        it("serves 50 connections open at once", function()
            local conns = {}
            for i = 1, 50 do
                conns[i] = srv:connect()
            end
            for i = 1, 50 do
                assert(conns[i]:send(S.get("/req-info?c=" .. i)))
            end
            for i = 50, 1, -1 do
                local res = assert(conns[i]:read_response())
                assert.are.equal("c=" .. i, S.parse_kv(res.body).query)
                conns[i]:close()
            end
        end)

        it("serves other connections while one sends its head byte by byte", function()
            local slow = srv:connect()
            local raw = S.get("/req-info?slow=1")
            assert(slow:send(raw:sub(1, 10)))
            local res = assert(srv:fetch(S.get("/ping")))
            assert.are.equal("pong", res.body)
            assert(slow:send(raw:sub(11)))
            assert.are.equal("slow=1", S.parse_kv(assert(slow:read_response()).body).query)
            slow:close()
        end)
    end)

    describe("a body the handler does not read", function()
        -- The handler answers at once from on_request, before the end of the message has
        -- been parsed: the keep-alive decision must wait for what is really unread.
        local cases = {
            { "a chunked body", "POST /ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                .. "5\r\nhello\r\n0\r\n\r\n" },
            { "Expect: 100-continue without a body", "GET /ping HTTP/1.1\r\nHost: x\r\n"
                .. "Expect: 100-continue\r\n\r\n" },
            { "Expect: 100-continue with Content-Length: 0", "POST /ping HTTP/1.1\r\nHost: x\r\n"
                .. "Expect: 100-continue\r\nContent-Length: 0\r\n\r\n" },
            { "Expect: 100-continue with the body sent along", "POST /ping HTTP/1.1\r\nHost: x\r\n"
                .. "Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello" },
            { "a Content-Length body", "POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" },
        }
        for _, case in ipairs(cases) do
            it("keeps the connection alive after " .. case[1] .. " sent in one write", function()
                local c = srv:connect()
                assert(c:send(case[2]))
                local res = assert(c:read_response({ timeout = 3 }))
                assert.are.equal("pong", res.body)
                assert.is_false(res:has_token("Connection", "close"), res.raw_head)
                assert(c:send(S.get("/ping")))
                local again = assert(c:read_response({ timeout = 3 }))
                assert.are.equal("pong", again.body)
                assert.is_true(c:is_open(0.1))
                c:close()
            end)
        end
    end)

    describe("pipelining", function()
        it("answers 10 requests sent in one write, in order", function()
            local reqs = {}
            for i = 1, 10 do
                reqs[#reqs + 1] = S.get("/req-info?i=" .. i)
            end
            local c = srv:connect()
            assert(c:send(table.concat(reqs)))
            local list = assert(c:read_responses(10))
            for i = 1, 10 do
                assert.are.equal(200, list[i].status)
                assert.are.equal(tostring(i), S.parse_kv(list[i].body).query:match("i=(%d+)"))
            end
            assert.is_true(c:is_open(0.1))
            c:close()
        end)

        it("keeps order when an early pipelined request is slow", function()
            local echo = S.start({ app = ECHO })
            finally(function() echo:stop_ok() end)
            local reqs = { S.get("/slow/200"), S.get("/echo?i=2"), S.get("/slow/50"),
                S.get("/echo?i=4"), S.get("/bytes/5"), S.get("/stream/2"),
                S.request("POST", "/echo?i=7", nil, "body7"), S.get("/status/204"),
                S.get("/echo?i=9"), S.get("/echo?i=10", { { "Connection", "close" } }) }
            local c = echo:connect()
            assert(c:send(table.concat(reqs)))
            local list = assert(c:read_responses(10))
            local cjson = require("cjson")
            assert.are.equal("slow", list[1].body)
            assert.are.equal("i=2", cjson.decode(list[2].body).query)
            assert.are.equal("slow", list[3].body)
            assert.are.equal("i=4", cjson.decode(list[4].body).query)
            assert.are.equal("xxxxx", list[5].body)
            assert.are.equal("chunk 1\nchunk 2\n", list[6].body)
            assert.are.equal("body7", cjson.decode(list[7].body).body)
            assert.are.equal(204, list[8].status)
            assert.are.equal("i=9", cjson.decode(list[9].body).query)
            assert.are.equal("i=10", cjson.decode(list[10].body).query)
            assert.is_true(list[10]:has_token("Connection", "close"))
            local extra, kind = c:read_until_close(3)
            assert.are.equal("", extra)
            assert.are.equal("fin", kind)
            c:close()
        end)

        it("sends the answer to a pipelined request at once when the next one is slow", function()
            -- answers to requests that arrive together are held back (TCP_CORK) only until the
            -- server's work on them is done: never while a handler waits
            local echo = S.start({ app = ECHO })
            finally(function() echo:stop_ok() end)
            local c = echo:connect()
            local t0 = S.now()
            assert(c:send(S.get("/echo?i=1") .. S.get("/bytes/3") .. S.get("/slow/700")
                .. S.get("/echo?i=4")))
            local list = assert(c:read_responses(2, { timeout = 3 }))
            local t_first = S.now() - t0
            assert.are.equal("xxx", list[2].body)
            assert.is_true(t_first < 0.15, "the answers before the slow request took "
                .. t_first .. " s (held back behind it)")
            local rest = assert(c:read_responses(2, { timeout = 3 }))
            assert.are.equal("slow", rest[1].body)
            assert.is_true(S.now() - t0 >= 0.65, "the slow request was answered early")
            assert.are.equal("i=4", require("cjson").decode(rest[2].body).query)
            c:close()
        end)

        it("answers pipelined requests with bodies, including chunked ones, in order",
            function()
                local c = srv:connect()
                local raw = S.request("POST", "/body", nil, "first")
                    .. "POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    .. "Transfer-Encoding: chunked\r\n\r\n" .. S.chunked({ "sec", "ond" })
                    .. S.request("POST", "/body", nil, "third")
                assert(c:send(raw))
                local list = assert(c:read_responses(3))
                assert.are.equal("first", list[1].body)
                assert.are.equal("second", list[2].body)
                assert.are.equal("third", list[3].body)
                c:close()
            end)

        it("answers requests pipelined one byte at a time", function()
            local c = srv:connect()
            local raw = S.get("/req-info?i=1") .. S.get("/req-info?i=2")
            assert(c:send_slowly(raw, 1, 0))
            local list = assert(c:read_responses(2))
            assert.are.equal("i=1", S.parse_kv(list[1].body).query)
            assert.are.equal("i=2", S.parse_kv(list[2].body).query)
            c:close()
        end)
    end)
end)

describe("keep-alive idle timeout", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE, args = { "--keepalive-timeout", "0.3" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("closes an idle keep-alive connection with a FIN after the timeout", function()
        local c = srv:connect()
        assert(c:send(S.get("/ping")))
        local res = assert(c:read_response())
        assert.are.equal("pong", res.body)
        local t0 = S.now()
        assert.is_true(c:is_open(0.1), "closed well before the keep-alive timeout")
        local extra, kind = c:read_until_close(3)
        local elapsed = S.now() - t0
        assert.are.equal("", extra)
        assert.are.equal("fin", kind)
        assert.is_true(elapsed >= 0.2 and elapsed < 2,
            "closed after " .. elapsed .. "s with --keepalive-timeout 0.3")
        c:close()
    end)

    it("restarts the idle timeout after each response", function()
        local c = srv:connect()
        for _ = 1, 4 do
            assert(c:send(S.get("/ping")))
            assert.are.equal("pong", assert(c:read_response()).body)
            S.sleep(0.15)
        end
        local _, kind = c:read_until_close(3)
        assert.are.equal("fin", kind)
        c:close()
    end)

    it("does not time out a request whose handler is still running", function()
        local c = srv:connect()
        assert(c:send(S.get("/abort-sleep?ms=700")))
        local res = assert(c:read_response({ timeout = 5 }))
        assert.are.equal(200, res.status)
        assert.are.equal(5000, #res.body)
        c:close()
    end)
end)

describe("Keep-Alive announcement", function()
    it("announces the configured keep-alive timeout", function()
        local srv = S.start({ app = LIFECYCLE, args = { "--keepalive-timeout", "7" } })
        finally(function() srv:stop_ok() end)
        local res = assert(srv:fetch(S.get("/ping")))
        assert.are.equal("timeout=7", res:header("Keep-Alive"))
    end)
end)
