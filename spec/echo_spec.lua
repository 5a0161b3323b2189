-- apps/echo: every route of its contract (docs/ARCHITECTURE.md).

local S = require("spec.support.server")
local cjson = require("cjson")

local ECHO = S.root .. "/apps/echo"

describe("apps/echo", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = ECHO })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function echo(raw)
        local res = assert(srv:fetch(raw))
        assert.are.equal(200, res.status, res.raw)
        assert.are.equal("application/json", res:header("Content-Type"))
        return res, cjson.decode(res.body)
    end

    describe("/echo", function()
        it("reports method, path, query, lower-cased headers and an empty body for GET",
            function()
                local _, j = echo("GET /echo/a/b?x=1&y=two HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    .. "X-Custom-Header: Some Value\r\nAccept: */*\r\n\r\n")
                assert.are.equal("GET", j.method)
                assert.are.equal("/echo/a/b", j.path)
                assert.are.equal("x=1&y=two", j.query)
                assert.are.equal("Some Value", j.headers["x-custom-header"])
                assert.are.equal("*/*", j.headers.accept)
                assert.are.equal("127.0.0.1", j.headers.host)
                assert.is_nil(j.headers["X-Custom-Header"])
                assert.are.equal("", j.body)
                assert.are.equal(0, j.bodyLength)
            end)

        it("answers on /echo itself", function()
            local _, j = echo(S.get("/echo"))
            assert.are.equal("/echo", j.path)
            assert.are.equal("GET", j.method)
        end)

        it("echoes a POST body sent with Content-Length", function()
            local body = "hello=world&n=42"
            local res, j = echo(S.request("POST", "/echo", { { "Content-Type",
                "application/x-www-form-urlencoded" } }, body))
            assert.are.equal("POST", j.method)
            assert.are.equal(body, j.body)
            assert.are.equal(#body, j.bodyLength)
            assert.are.equal(tostring(#body), j.headers["content-length"])
            assert.are.equal(#res.body, tonumber(res:header("Content-Length")))
        end)

        it("echoes a body sent chunked", function()
            local raw = "POST /echo/chunked HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Transfer-Encoding: chunked\r\n\r\n"
                .. S.chunked({ "hello", " ", "chunked", " world" })
            local _, j = echo(raw)
            assert.are.equal("hello chunked world", j.body)
            assert.are.equal(19, j.bodyLength)
        end)

        it("echoes any method", function()
            for _, m in ipairs({ "PUT", "DELETE", "PATCH", "OPTIONS" }) do
                local _, j = echo(S.request(m, "/echo/m", nil, m == "PUT" and "put-body" or nil))
                assert.are.equal(m, j.method)
                if m == "PUT" then
                    assert.are.equal("put-body", j.body)
                end
            end
        end)

        it("joins repeated request headers with ', '", function()
            local _, j = echo("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Rep: a\r\n"
                .. "X-Other: o\r\nx-rep: b\r\n\r\n")
            assert.are.equal("a, b", j.headers["x-rep"])
            assert.are.equal("o", j.headers["x-other"])
        end)

        it("echoes a 200 KiB body byte for byte", function()
            local parts = {}
            for i = 1, 200 * 1024 / 16 do
                parts[#parts + 1] = string.format("%015d\n", i)
            end
            local body = table.concat(parts)
            local c = srv:connect()
            assert(c:send(S.request("POST", "/echo", nil, body)))
            local res = assert(c:read_response({ timeout = 10 }))
            local j = cjson.decode(res.body)
            assert.are.equal(#body, j.bodyLength)
            assert.is_true(j.body == body)
            c:close()
        end)
    end)

    describe("/bytes/N", function()
        it("answers exactly N bytes of x with Content-Length", function()
            for _, n in ipairs({ 1, 10, 1000 }) do
                local res = assert(srv:fetch(S.get("/bytes/" .. n)))
                assert.are.equal(200, res.status)
                assert.are.equal(tostring(n), res:header("Content-Length"))
                assert.is_nil(res:header("Transfer-Encoding"))
                assert.are.equal(string.rep("x", n), res.body)
            end
        end)

        it("answers /bytes/0 with an empty body and Content-Length: 0", function()
            local res = assert(srv:fetch(S.get("/bytes/0")))
            assert.are.equal(200, res.status)
            assert.are.equal("0", res:header("Content-Length"))
            assert.are.equal("", res.body)
        end)

        it("answers a body larger than 64 KiB (several pieces) exactly", function()
            local n = 1000000
            local res = assert(srv:fetch(S.get("/bytes/" .. n), { timeout = 10 }))
            assert.are.equal(tostring(n), res:header("Content-Length"))
            assert.are.equal(n, #res.body)
            assert.is_falsy(res.body:find("[^x]"))
        end)

        it("keeps the connection usable after a large body", function()
            local c = srv:connect()
            assert(c:send(S.get("/bytes/300000") .. S.get("/bytes/3")))
            local list = assert(c:read_responses(2, { timeout = 10 }))
            assert.are.equal(300000, #list[1].body)
            assert.are.equal("xxx", list[2].body)
            c:close()
        end)

        it("holds a bounded amount of memory for a client that never reads", function()
            local before = assert(srv:status_kb("VmRSS"))
            local c = srv:connect()
            assert(c:send(S.get("/bytes/200000000")))
            S.sleep(0.5)
            local during = assert(srv:status_kb("VmRSS"))
            -- 200 MB requested; a server that ignored backpressure would hold it all.
            assert.is_true(during - before < 50 * 1024,
                string.format("RSS grew by %d KiB while the client did not read",
                    during - before))
            c:reset()
            -- the server is still fine
            local res = assert(srv:fetch(S.get("/bytes/5")))
            assert.are.equal("xxxxx", res.body)
        end)
    end)

    describe("/stream/N", function()
        it("answers N chunks, chunk i being 'chunk i\\n', with chunked framing", function()
            local res = assert(srv:fetch(S.get("/stream/3")))
            assert.are.equal(200, res.status)
            assert.are.equal("chunked", res:header("Transfer-Encoding"))
            assert.is_nil(res:header("Content-Length"))
            local raw_body = res.raw:sub(#res.raw_head + 1)
            assert.are.equal("8\r\nchunk 1\n\r\n8\r\nchunk 2\n\r\n8\r\nchunk 3\n\r\n0\r\n\r\n",
                raw_body)
        end)

        it("sizes two-digit chunks correctly in hex", function()
            local res = assert(srv:fetch(S.get("/stream/12")))
            assert.are.equal(12, #res.chunks)
            for i, ch in ipairs(res.chunks) do
                assert.are.equal("chunk " .. i .. "\n", ch.data)
                assert.are.equal(#ch.data, tonumber(ch.size_line, 16))
            end
            assert.are.equal("9", res.chunks[10].size_line)
        end)

        it("answers /stream/0 with an empty body, correctly framed", function()
            -- nothing was written before finish: Content-Length: 0 is as right as an empty
            -- chunked body
            local res = assert(srv:fetch(S.get("/stream/0")))
            assert.are.equal(200, res.status)
            assert.are.equal("", res.body)
            if res:header("Transfer-Encoding") then
                assert.are.equal("0\r\n\r\n", res.raw:sub(#res.raw_head + 1))
            else
                assert.are.equal("0", res:header("Content-Length"))
            end
        end)

        it("streams close-delimited to an HTTP/1.0 client, then closes", function()
            local c = srv:connect()
            assert(c:send("GET /stream/3 HTTP/1.0\r\n\r\n"))
            local res = assert(c:read_response())
            assert.are.equal("HTTP/1.1", res.version)
            assert.are.equal("close", res.framing)
            assert.is_nil(res:header("Transfer-Encoding"))
            assert.is_nil(res:header("Content-Length"))
            assert.are.equal("chunk 1\nchunk 2\nchunk 3\n", res.body)
            assert.is_true(res:has_token("Connection", "close"))
            assert.are.equal("fin", res.end_kind)
            c:close()
        end)
    end)

    describe("/status/N", function()
        it("answers the status with the body 'status N' where a body is allowed", function()
            for _, n in ipairs({ 200, 201, 202, 400, 404, 418, 500, 503 }) do
                local res = assert(srv:fetch(S.get("/status/" .. n)))
                assert.are.equal(n, res.status)
                assert.are.equal("status " .. n, res.body)
                assert.are.equal("HTTP/1.1", res.version)
            end
        end)

        it("answers 204 without a body, Content-Length or Transfer-Encoding", function()
            local c = srv:connect()
            assert(c:send(S.get("/status/204") .. S.get("/status/200")))
            local r1 = assert(c:read_response())
            assert.are.equal(204, r1.status)
            assert.is_nil(r1:header("Content-Length"))
            assert.is_nil(r1:header("Transfer-Encoding"))
            -- the next response starts right after the head
            local r2 = assert(c:read_response())
            assert.are.equal(200, r2.status)
            assert.are.equal("status 200", r2.body)
            c:close()
        end)

        it("answers 304 without a body", function()
            local c = srv:connect()
            assert(c:send(S.get("/status/304") .. S.get("/status/201")))
            local r1 = assert(c:read_response())
            assert.are.equal(304, r1.status)
            assert.is_nil(r1:header("Transfer-Encoding"))
            local r2 = assert(c:read_response())
            assert.are.equal(201, r2.status, r2.status_line)
            assert.are.equal("status 201", r2.body)
            c:close()
        end)

        it("answers 205 without content (RFC 9110 15.3.6)", function()
            local c = srv:connect()
            assert(c:send(S.get("/status/205") .. S.get("/status/200")))
            local r1 = assert(c:read_response())
            assert.are.equal(205, r1.status)
            assert.are.equal("", r1.body)
            local r2 = assert(c:read_response())
            assert.are.equal(200, r2.status, r2.status_line)
            c:close()
        end)
    end)

    describe("/slow/MS", function()
        it("answers 'slow' after MS milliseconds without blocking other connections",
            function()
                local slow = srv:connect()
                local t0 = S.now()
                assert(slow:send(S.get("/slow/600")))
                S.sleep(0.05)
                local t1 = S.now()
                local fast = assert(srv:fetch(S.get("/bytes/2")))
                local fast_time = S.now() - t1
                assert.are.equal("xx", fast.body)
                assert.is_true(fast_time < 0.4,
                    "a fast request waited " .. fast_time .. "s behind /slow/600")
                local res = assert(slow:read_response({ timeout = 5 }))
                local elapsed = S.now() - t0
                assert.are.equal(200, res.status)
                assert.are.equal("slow", res.body)
                assert.is_true(elapsed >= 0.55, "answered after only " .. elapsed .. "s")
                slow:close()
            end)
    end)

    describe("/reject-upload", function()
        it("answers 413 at once, before the body was sent", function()
            local c = srv:connect()
            assert(c:send("POST /reject-upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: 100000\r\n\r\n"))
            local res = assert(c:read_response({ timeout = 3 }))
            assert.are.equal(413, res.status)
            c:close()
        end)
    end)

    describe("/close", function()
        it("answers 'bye' with Connection: close, then FIN, ignoring pipelined requests",
            function()
                local c = srv:connect()
                assert(c:send(S.get("/close") .. S.get("/bytes/1")))
                local res = assert(c:read_response())
                assert.are.equal(200, res.status)
                assert.are.equal("bye", res.body)
                assert.is_true(res:has_token("Connection", "close"))
                local extra, kind = c:read_until_close(3)
                assert.are.equal("", extra)
                assert.are.equal("fin", kind)
                c:close()
            end)
    end)

    describe("/destroy", function()
        it("closes the connection without any response, and the server keeps serving",
            function()
                local c = srv:connect()
                assert(c:send(S.get("/destroy")))
                local data, kind = c:read_until_close(3)
                assert.are.equal("", data)
                assert.are_not.equal("timeout", kind)
                c:close()
                local res = assert(srv:fetch(S.get("/bytes/2")))
                assert.are.equal("xx", res.body)
            end)
    end)

    describe("/error", function()
        it("answers 500 and the server keeps serving", function()
            local res = assert(srv:fetch(S.get("/error")))
            assert.are.equal(500, res.status)
            local res2 = assert(srv:fetch(S.get("/bytes/2")))
            assert.are.equal("xx", res2.body)
        end)
    end)
end)
