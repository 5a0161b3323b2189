-- --access-log FILE writes nginx's "combined" format, byte for byte:
--   $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
--   "$http_referer" "$http_user_agent"
-- with nginx's escaping ('"', '\' and bytes outside 0x20..0x7e as \xHH), "-" for what is
-- missing, and one line for every request, including refused and abandoned ones.

local S = require("spec.support.server")
local A = require("spec.support.access_log")
local H = require("spec.support.host_server")

local ECHO = S.root .. "/apps/echo"

describe("the combined access log", function()
    local srv, path, t0

    lazy_setup(function()
        local dir = S.mktempdir()
        path = dir .. "/access.log"
        t0 = os.time()
        srv = S.start({ app = ECHO, args = { "--access-log", path } })
    end)

    lazy_teardown(function()
        if srv and srv:alive() then
            srv:stop_ok()
        end
    end)

    -- Sends raw requests one by one on one connection, reading each response; returns them.
    local function exchange(raws)
        local c = srv:connect()
        local out = {}
        for i, raw in ipairs(raws) do
            assert(c:send(raw))
            out[i] = assert(c:read_response({ timeout = 5, head = raw:match("^HEAD ") ~= nil }))
        end
        c:close()
        return out
    end

    local results = {}

    it("serves the requests the lines are about", function()
        results.plain = exchange({
            "GET /echo?x=1&y=%20 HTTP/1.1\r\nHost: x\r\nReferer: http://example.test/from\r\n"
                .. "User-Agent: spec/1.0 (lunaserve)\r\n\r\n",
            "HEAD /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /status/404 HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /stream/3 HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /bytes/5 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Ym9iOnNlY3JldA==\r\n\r\n",
            "GET /bytes/1 HTTP/1.1\r\nHost: x\r\nUser-Agent: a\"b\\c\195\169d\r\n\r\n",
            "GET /bytes/2 HTTP/1.0\r\n\r\n",
        })
        assert.are.equal(7, #results.plain)
        -- a malformed request: 400 and the close
        local c = srv:connect()
        assert(c:send("GET /x HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n"))
        local res = assert(c:read_response({ timeout = 5 }))
        assert.are.equal(400, res.status)
        c:close()
        -- a client that leaves before its response: nginx's 499
        local c2 = srv:connect()
        assert(c2:send("GET /slow/400 HTTP/1.1\r\nHost: x\r\n\r\n"))
        S.sleep(0.1)
        c2:close()
        S.sleep(0.5)
        srv:stop_ok()
    end)

    it("writes one exact line for each, in order", function()
        local lines, whole = A.lines(path)
        assert.is_true(whole, "the file does not end with a newline")
        local r = results.plain
        local function body_on_wire(res)
            return #res.raw - #res.raw_head
        end
        local expected = {
            '127.0.0.1 - - [TIME] "GET /echo?x=1&y=%20 HTTP/1.1" 200 ' .. #r[1].body
                .. ' "http://example.test/from" "spec/1.0 (lunaserve)"',
            '127.0.0.1 - - [TIME] "HEAD /bytes/10 HTTP/1.1" 200 0 "-" "-"',
            '127.0.0.1 - - [TIME] "GET /status/404 HTTP/1.1" 404 ' .. #r[3].body .. ' "-" "-"',
            -- a chunked body counts as on the wire, with its framing (as nginx's)
            '127.0.0.1 - - [TIME] "GET /stream/3 HTTP/1.1" 200 ' .. body_on_wire(r[4]) .. ' "-" "-"',
            '127.0.0.1 - bob [TIME] "GET /bytes/5 HTTP/1.1" 200 5 "-" "-"',
            '127.0.0.1 - - [TIME] "GET /bytes/1 HTTP/1.1" 200 1 "-" "a\\x22b\\x5Cc\\xC3\\xA9d"',
            '127.0.0.1 - - [TIME] "GET /bytes/2 HTTP/1.0" 200 2 "-" "-"',
            '127.0.0.1 - - [TIME] "GET /x HTTP/1.1" 400 ' .. #"Bad Request\n" .. ' "-" "-"',
            '127.0.0.1 - - [TIME] "GET /slow/400 HTTP/1.1" 499 0 "-" "-"',
        }
        assert.are.equal(#expected, #lines, table.concat(lines, "\n"))
        local t1 = os.time()
        for i, line in ipairs(lines) do
            assert.is_truthy(line:match(A.COMBINED), line)
            local shape, stamp = A.split_combined(line)
            assert.are.equal(expected[i], shape)
            local ok = false
            for t = t0, t1 do
                ok = ok or stamp == A.time_local(t)
            end
            assert.is_true(ok, "time stamp " .. stamp .. " is not a second of the run")
        end
    end)
end)

describe("the combined access log over IPv6", function()
    it("writes the client's IPv6 address as text", function()
        local path = S.mktempdir() .. "/access.log"
        local srv = H.start("::1", { "--access-log", path })
        local res = srv:get("::1")
        assert.is_truthy(res:match("^HTTP/1%.1 200 OK\r\n"), res)
        srv:stop_ok()
        local lines = A.lines(path)
        assert.are.equal(1, #lines)
        assert.are.equal('::1 - - [TIME] "GET / HTTP/1.1" 200 14 "-" "-"',
            (A.split_combined(lines[1])))
    end)
end)
