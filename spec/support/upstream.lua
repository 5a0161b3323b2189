-- The scripted TCP upstream of the cosocket specs (spec/support/upstream.py): started as a
-- process on a free loopback port (and a Unix socket in its temp dir), asked what it saw
-- through its control command, stopped by PID. Every wait is bounded.

local socket = require("socket")
local S = require("spec.support.server")

local M = {}

local Upstream = {}
Upstream.__index = Upstream

local START_TIMEOUT = 10
local STOP_TIMEOUT = 5

-- Starts the upstream. Returns an Upstream with .port (its TCP port), .blackhole (a port whose
-- listener never accepts), .unix (the path of its Unix socket), .pid, .dir.
function M.start()
    local dir = S.mktempdir()
    local script = S.root .. "/spec/support/upstream.py"
    local unix = dir .. "/up.sock"
    local inner = string.format(
        "python3 %s --dir %s --unix %s </dev/null >%s/out 2>%s/err & echo $! >%s/pid.tmp && "
            .. "mv %s/pid.tmp %s/pid; wait $!; echo $? >%s/status",
        S.shquote(script), S.shquote(dir), S.shquote(unix), dir, dir, dir, dir, dir, dir)
    os.execute("sh -c " .. S.shquote(inner) .. " </dev/null >/dev/null 2>&1 &")
    local self = setmetatable({ dir = dir, unix = unix }, Upstream)
    local ready = S.wait_for(function()
        return S.read_file(dir .. "/ready")
    end, START_TIMEOUT)
    local pid = S.read_file(dir .. "/pid")
    self.pid = pid and tonumber(pid:match("%d+"))
    if not ready then
        self:stop()
        error("the upstream (spec/support/upstream.py) did not start within "
            .. START_TIMEOUT .. " s; its stderr:\n" .. (S.read_file(dir .. "/err") or ""), 2)
    end
    local port, hole = ready:match("^(%d+) (%d+)")
    self.port, self.blackhole = tonumber(port), tonumber(hole)
    return self
end

-- Stops it by PID (TERM, then KILL after a bounded wait) and removes its directory.
function Upstream:stop()
    if self.stopped then
        return
    end
    self.stopped = true
    if self.pid then
        os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
        if not S.wait_for(function() return S.read_file(self.dir .. "/status") end,
                STOP_TIMEOUT) then
            os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
            S.wait_for(function() return S.read_file(self.dir .. "/status") end, 2)
        end
    end
    os.execute("rm -rf " .. S.shquote(self.dir))
end

-- One control command; returns its whole answer (read until the upstream closes).
function Upstream:control(cmd)
    local c = assert(socket.tcp4())
    c:settimeout(3)
    assert(c:connect("127.0.0.1", self.port))
    assert(c:send(cmd .. "\n"))
    local data, err, partial = c:receive("*a")
    c:close()
    if not data then
        error("upstream control " .. cmd .. ": " .. tostring(err) .. " after "
            .. S.q(partial), 2)
    end
    return data
end

-- What it recorded: a list of connections {id, tag, mode, bytes_in, open, eof, reset} in the
-- order they came (only those tagged `tag` if given), and the totals {accepted =, open =}.
function Upstream:stats(tag)
    local conns, totals = {}, {}
    for line in self:control(tag and ("STATS " .. tag) or "STATS"):gmatch("[^\n]+") do
        local id, tag, mode, bin, open, eof, reset =
            line:match("^(%d+) (%S+) (%S+) (%d+) (%d) (%d) (%d)$")
        if id then
            conns[#conns + 1] = { id = tonumber(id), tag = tag, mode = mode,
                bytes_in = tonumber(bin), open = open == "1", eof = eof == "1",
                reset = reset == "1" }
        else
            local acc, op = line:match("^accepted (%d+) open (%d+)$")
            assert(acc, "bad STATS line: " .. S.q(line))
            totals.accepted, totals.open = tonumber(acc), tonumber(op)
        end
    end
    return conns, totals
end

-- The recorded connections tagged `tag` (the `@tag` prefix of their first line).
function Upstream:tagged(tag)
    return (self:stats(tag))
end

-- The totals alone: connections accepted so far, and open now.
function Upstream:totals()
    local answer = self:control("TOTALS")
    local acc, op = answer:match("^accepted (%d+) open (%d+)\n$")
    assert(acc, "bad TOTALS answer: " .. S.q(answer))
    return tonumber(acc), tonumber(op)
end

-- Connections open now.
function Upstream:open_count()
    return select(2, self:totals())
end

-- Connections accepted so far.
function Upstream:accepted()
    return (self:totals())
end

-- Waits (bounded, default 3 s) until every connection tagged `tag` is closed and there is
-- at least `n` of them (default 1); returns the list then, or nil and the last list seen.
function Upstream:wait_closed(tag, timeout, n)
    local last
    local ok = S.wait_for(function()
        last = self:tagged(tag)
        if #last < (n or 1) then
            return false
        end
        for _, c in ipairs(last) do
            if c.open then
                return false
            end
        end
        return true
    end, timeout or 3, 0.02)
    if ok then
        return last
    end
    return nil, last
end

-- Describes a list of records, for failure messages.
function M.describe(list)
    local out = {}
    for _, c in ipairs(list or {}) do
        out[#out + 1] = string.format("#%d @%s %s in=%d open=%s eof=%s reset=%s", c.id, c.tag,
            c.mode, c.bytes_in, tostring(c.open), tostring(c.eof), tostring(c.reset))
    end
    return "{" .. table.concat(out, "; ") .. "}"
end

-- Forgets the records of closed connections.
function Upstream:clear()
    self:control("CLEAR")
end

-- n bytes of the upstream's pattern from offset `start` (byte i is the alphabet's i % 26).
function M.pattern(n, start)
    start = start or 0
    local abc = "abcdefghijklmnopqrstuvwxyz"
    local first = start % 26
    local s = string.rep(abc, (first + n) // 26 + 1)
    return s:sub(first + 1, first + n)
end

-- A URL query value: everything but unreserved characters percent-encoded.
function M.qs(s)
    return (tostring(s):gsub("[^%w%-%._~]", function(c)
        return string.format("%%%02X", c:byte())
    end))
end

return M
