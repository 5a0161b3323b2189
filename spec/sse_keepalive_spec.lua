-- lunaserve.sse: an idle stream gets a comment every keep-alive interval.
local S = require("spec.support.server")

local APP = S.app("sse.lua")

local HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    .. "Date: %s\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
    .. "Keep-Alive: timeout=5\r\n\r\n"

describe("lunaserve.sse keep-alive", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function get(path)
        return assert(srv:fetch(S.get(path))).body
    end

    local function state()
        return S.parse_kv(get("/state"))
    end

    -- opens a stream and reads its head
    local function open(name, ka)
        local c = srv:connect()
        assert(c:send(S.get("/events?name=" .. name .. "&ka=" .. (ka or 0))))
        local head = assert(c:read_until("\r\n\r\n", 1))
        assert.are.equal(string.format(HEAD, tostring(head:match("\r\nDate: ([^\r]+)\r\n"))), head)
        return c
    end

    -- reads one chunk: its data
    local function chunk(c, timeout)
        local line = assert(c:read_until("\r\n", timeout or 1))
        local n = assert(tonumber(line:match("^(%x+)\r\n$"), 16), line)
        local data = assert(c:receive_exact(n + 2, 1))
        assert.are.equal("\r\n", data:sub(-2))
        return data:sub(1, -3)
    end

    it("keeps an idle stream alive with comments on the interval", function()
        local c = open("k", 200)
        local t0 = S.now()
        assert.are.equal(":\n", chunk(c, 1):sub(1, 2))
        local first = S.now() - t0
        assert.is_true(first >= 0.18 and first < 0.6, "first comment after " .. first .. " s")
        assert.are.equal(":\n\n", chunk(c, 1))
        -- an event resets the idle time: the next comment comes an interval after it
        S.sleep(0.1)
        get("/send?name=k&set=plain")
        local t1 = S.now()
        assert.are.equal("data: hello\n\n", chunk(c))
        assert.are.equal(":\n\n", chunk(c, 1))
        local gap = S.now() - t1
        assert.is_true(gap >= 0.15, "comment " .. gap .. " s after an event")
        c:close()
    end)
end)
