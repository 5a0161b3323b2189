-- lunaserve.sse: a stream ends cleanly whichever side ends it; its keep-alive timer stops.
local S = require("spec.support.server")

local APP = S.app("sse.lua")

local HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    .. "Date: %s\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
    .. "Keep-Alive: timeout=5\r\n\r\n"

describe("lunaserve.sse end", function()
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

    it("ends cleanly when the client goes away: the timer stops, send returns nil, 'closed'",
        function()
            local base = tonumber(state().pending_timers)
            local c = open("gone", 150)
            assert.are.equal(base + 1, tonumber(state().pending_timers))
            c:close()
            assert.are.equal("yes", S.wait_for(function()
                return state().closed_gone == "yes" and "yes"
            end, 3, 0.05))
            assert.are.equal("nil,closed", get("/send?name=gone&set=plain"))
            assert.are.equal("nil,closed", get("/comment?name=gone"))
            -- the keep-alive does not arm again: within an interval, no timer is left
            local left = S.wait_for(function()
                return tonumber(state().pending_timers) == base and base
            end, 1, 0.05)
            assert.are.equal(base, left)
        end)

    it("stream:close() ends the response; the connection serves the next request", function()
        local c = open("end", 100)
        assert.are.equal("true,false", get("/close?name=end"))
        assert.are.equal("0\r\n\r\n", assert(c:receive_exact(5, 1)))
        assert.are.equal("yes", state().closed_end)
        assert.are.equal("nil,closed", get("/send?name=end&set=plain"))
        assert(c:send(S.get("/state")))
        assert.are.equal(200, assert(c:read_response()).status)
        c:close()
    end)
end)
