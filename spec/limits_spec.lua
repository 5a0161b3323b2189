-- Limits and timeouts: requests per connection, header/body/send timeouts, lingering close,
-- and the early 413 that a client still uploading must be able to read (DESIGN.md lifecycle
-- points 2, 3 and 5).

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")
local ECHO = S.root .. "/apps/echo"

-- Uploads `total` bytes of body in 64 KiB pieces without reading; returns bytes sent, error.
local function upload(c, total, timeout)
    local piece = string.rep("u", 65536)
    local sent = 0
    local deadline = S.now() + (timeout or 10)
    while sent < total do
        local n = math.min(#piece, total - sent)
        local ok, err = c:send(piece:sub(1, n), math.max(0.01, deadline - S.now()))
        if not ok then
            return sent, err
        end
        sent = sent + n
    end
    return sent
end

describe("--max-requests", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE, args = { "--max-requests", "3" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("says Connection: close on the 3rd response of a connection and closes it", function()
        local c = srv:connect()
        for i = 1, 3 do
            assert(c:send(S.get("/ping")))
            local res = assert(c:read_response())
            assert.are.equal("pong", res.body)
            if i < 3 then
                assert.is_false(res:has_token("Connection", "close"), "response " .. i)
            else
                assert.is_true(res:has_token("Connection", "close"), "response 3")
            end
        end
        local extra, kind = c:read_until_close(3)
        assert.are.equal("", extra)
        assert.are.equal("fin", kind)
        c:close()
    end)

    it("answers only 3 of 5 pipelined requests, the 3rd with shouldKeepAlive false", function()
        local c = srv:connect()
        local raw = {}
        for _ = 1, 5 do
            raw[#raw + 1] = S.get("/ska")
        end
        assert(c:send(table.concat(raw)))
        local list = assert(c:read_responses(3))
        assert.are.same({ "true", "true", "false" }, { list[1].body, list[2].body, list[3].body })
        assert.is_true(list[3]:has_token("Connection", "close"))
        local extra, kind = c:read_until_close(3)
        assert.are.equal("", extra)
        assert.are_not.equal("timeout", kind)
        c:close()
    end)

    it("counts per connection, not per server", function()
        for _ = 1, 3 do
            local c = srv:connect()
            assert(c:send(S.get("/ping")))
            local res = assert(c:read_response())
            assert.are.equal("pong", res.body)
            assert.is_false(res:has_token("Connection", "close"))
            c:close()
        end
    end)
end)

describe("timeouts", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = ECHO, args = { "--header-timeout", "0.3", "--body-timeout", "0.3",
            "--send-timeout", "0.5", "--keepalive-timeout", "2" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("closes a connection whose request head does not complete within --header-timeout",
        function()
            local c = srv:connect()
            assert(c:send("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"))
            local t0 = S.now()
            local data, kind = c:read_until_close(3)
            local elapsed = S.now() - t0
            assert.are_not.equal("timeout", kind, "still open after 3s")
            assert.is_true(elapsed >= 0.2, "closed after only " .. elapsed .. "s")
            -- at most a 408 response, never a normal one
            assert.is_true(data == "" or data:match("^HTTP/1%.1 408 ") ~= nil, data)
            c:close()
        end)

    it("counts the header timeout over the whole head, not between bytes", function()
        local c = srv:connect()
        local t0 = S.now()
        local raw = "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        local closed = false
        for i = 1, 40 do
            local ok = c:send(i <= #raw and raw:sub(i, i) or "s", 1)
            if not ok then
                closed = true
                break
            end
            if not c:is_open(0.05) then
                closed = true
                break
            end
        end
        local elapsed = S.now() - t0
        assert.is_true(closed, "a head trickled in for " .. elapsed .. "s was never cut off")
        assert.is_true(elapsed < 1.5, "cut off only after " .. elapsed .. "s")
        c:close()
    end)

    it("closes a connection whose body stalls longer than --body-timeout", function()
        local c = srv:connect()
        assert(c:send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
            .. string.rep("b", 10)))
        local t0 = S.now()
        local data, kind = c:read_until_close(3)
        local elapsed = S.now() - t0
        assert.are_not.equal("timeout", kind, "still open after 3s")
        assert.is_true(elapsed >= 0.2, "closed after only " .. elapsed .. "s")
        assert.is_falsy(data:match("^HTTP/1%.1 200 "), data)
        c:close()
    end)

    it("keeps a body that makes progress within --body-timeout", function()
        local c = srv:connect()
        local body = string.rep("p", 10)
        assert(c:send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n"))
        assert(c:send_slowly(body, 1, 0.1)) -- 1 s in all, 0.1 s between bytes
        local res = assert(c:read_response())
        assert.are.equal(200, res.status)
        assert.are.equal(body, require("cjson").decode(res.body).body)
        c:close()
    end)

    it("gives up on a client that does not read for longer than --send-timeout", function()
        local n = 100000000
        local c = srv:connect()
        assert(c:send(S.get("/bytes/" .. n)))
        S.sleep(1.5)
        local data, kind = c:read_until_close(5)
        assert.are_not.equal("timeout", kind, "the server was still sending after 6.5s")
        assert.is_true(#data < n, "the whole body arrived")
        c:close()
        assert.are.equal("xx", assert(srv:fetch(S.get("/bytes/2"))).body)
    end)
end)

describe("lingering close", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = ECHO, args = { "--linger-idle", "0.4", "--linger-time", "1" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    -- After the server's FIN: does data we send get read (no reset)?
    local function closed_response(c)
        assert(c:send(S.get("/close")))
        local res = assert(c:read_response())
        assert.are.equal("bye", res.body)
        local _, kind = c:read_until_close(3)
        assert.are.equal("fin", kind)
    end

    it("reads and discards what the client sends after the FIN, then closes after --linger-idle",
        function()
            local c = srv:connect()
            closed_response(c)
            S.sleep(0.1)
            c.sock:send("late data the server must discard")
            S.sleep(0.1)
            assert.are.equal("08", c:tcp_state(), "reset while lingering")
            -- idle past --linger-idle: the server has closed; more data now draws a reset
            S.sleep(0.8)
            c.sock:send("too late")
            local reset = S.wait_for(function() return c:tcp_state() == nil end, 1)
            assert.is_true(reset, "the server was still reading after --linger-idle")
            c:close()
        end)

    it("stops lingering after --linger-time even when the client keeps sending", function()
        local c = srv:connect()
        closed_response(c)
        local t0 = S.now()
        local reset_at
        while S.now() - t0 < 3 do
            c.sock:send(string.rep("k", 100))
            S.sleep(0.1)
            if c:tcp_state() == nil then
                reset_at = S.now() - t0
                break
            end
        end
        assert.is_truthy(reset_at, "still lingering after 3s with --linger-time 1")
        assert.is_true(reset_at > 0.5, "lingering ended after only " .. tostring(reset_at) .. "s")
        c:close()
    end)
end)

describe("early 413 to a client still uploading", function()
    it("lets the client upload on and then read the whole 413 from /reject-upload", function()
        local srv = S.start({ app = ECHO, args = { "--max-body", "67108864" } })
        finally(function() srv:stop_ok() end)
        local total = 8 * 1024 * 1024
        local c = srv:connect()
        assert(c:send("POST /reject-upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            .. "Content-Length: " .. total .. "\r\n\r\n"))
        local sent, err = upload(c, total, 10)
        local res, rerr = c:read_response({ timeout = 5 })
        assert.is_truthy(res, "the 413 was not readable: " .. tostring(rerr))
        assert.are.equal(413, res.status)
        assert.is_true(res:has_token("Connection", "close"))
        local extra, kind = c:read_until_close(5)
        assert.are.equal("", extra)
        assert.are.equal("fin", kind, "reset instead of FIN")
        assert.are.equal(total, sent, "the upload was cut off after " .. sent .. " bytes: "
            .. tostring(err))
        c:close()
    end)

    it("lets the client upload on and then read the whole 413 for a body over --max-body",
        function()
            local srv = S.start({ app = ECHO })
            finally(function() srv:stop_ok() end)
            local total = 8 * 1024 * 1024
            local c = srv:connect()
            assert(c:send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: " .. total .. "\r\n\r\n"))
            local sent, err = upload(c, total, 10)
            local res, rerr = c:read_response({ timeout = 5 })
            assert.is_truthy(res, "the 413 was not readable: " .. tostring(rerr))
            assert.are.equal(413, res.status)
            assert.is_true(res:has_token("Connection", "close"))
            local extra, kind = c:read_until_close(5)
            assert.are.equal("", extra)
            assert.are.equal("fin", kind, "reset instead of FIN")
            assert.are.equal(total, sent, "the upload was cut off after " .. sent .. " bytes: "
                .. tostring(err))
            c:close()
        end)
end)
