-- --access-log-format json: one JSON object per line, with the method, path, query, status,
-- bytes, request time in microseconds, client address, user agent, referer, the worker's pid
-- and, when the connection ended after the request, why ("closed").

local S = require("spec.support.server")
local A = require("spec.support.access_log")
local cjson = require("cjson")

local ECHO = S.root .. "/apps/echo"

describe("the JSON access log", function()
    local srv, path, pid
    local res = {}

    lazy_setup(function()
        path = S.mktempdir() .. "/access.jsonl"
        srv = S.start({ app = ECHO, args = { "--access-log", path, "--access-log-format", "json" } })
        pid = srv.pid
        local c = srv:connect()
        assert(c:send("GET /echo/a%20b?q=1 HTTP/1.1\r\nHost: x\r\nReferer: http://r.test/\r\n"
            .. "User-Agent: ua \"quoted\" \\ \255 \195\169\r\n\r\n"))
        res[1] = assert(c:read_response({ timeout = 5 }))
        assert(c:send("GET /slow/200 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        res[2] = assert(c:read_response({ timeout = 5 }))
        c:close()
        srv:stop_ok()
    end)

    lazy_teardown(function()
        if srv and srv:alive() then
            srv:stop_ok()
        end
    end)

    it("writes one parsable object per request", function()
        local lines = A.lines(path)
        assert.are.equal(2, #lines)
        local a, b = cjson.decode(lines[1]), cjson.decode(lines[2])
        assert.is_truthy(a.time:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[+-]%d%d:%d%d$"), a.time)
        a.time, b.time = nil, nil
        assert.is_true(a.request_time_us >= 0 and a.request_time_us < 5e6, tostring(a.request_time_us))
        -- the slow request took at least its 200 ms
        assert.is_true(b.request_time_us >= 200000, tostring(b.request_time_us))
        a.request_time_us, b.request_time_us = nil, nil
        assert.are.same({
            remote_addr = "127.0.0.1", method = "GET", path = "/echo/a%20b", query = "q=1",
            protocol = "HTTP/1.1", status = 200, body_bytes_sent = #res[1].body,
            bytes_sent = #res[1].raw, referer = "http://r.test/",
            -- a byte that is not UTF-8 as \u00XX (the line stays JSON); UTF-8 as it is
            user_agent = "ua \"quoted\" \\ \195\191 \195\169", worker = pid, closed = cjson.null,
        }, a)
        assert.are.same({
            remote_addr = "127.0.0.1", method = "GET", path = "/slow/200", query = cjson.null,
            protocol = "HTTP/1.1", status = 200, body_bytes_sent = #res[2].body,
            bytes_sent = #res[2].raw, referer = cjson.null, user_agent = cjson.null,
            worker = pid, closed = "finish-close",
        }, b)
    end)

    it("escapes as JSON, byte for byte", function()
        local lines = A.lines(path)
        assert.is_truthy(lines[1]:find('"user_agent":"ua \\"quoted\\" \\\\ \\u00ff \195\169"', 1, true),
            lines[1])
    end)
end)
