-- lunaserve started on a given --host (spec.support.server's start always listens on
-- 127.0.0.1 and reads an IPv4 listening line): the listening line as printed, the port, a GET
-- over the address the line names, and a bounded stop.

local socket = require("socket")
local S = require("spec.support.server")

local M = {}

local Server = {}
Server.__index = Server

-- Starts `lunaserve --host HOST --port 0 [ARGS...]` (the bundled hello app); returns the
-- server with .line (the first stdout line) and .port, or raises with the log.
function M.start(host, args)
    local dir = S.mktempdir()
    local cmd = string.format("%s --host %s --port 0", S.shquote(S.bin()), S.shquote(host))
    for _, a in ipairs(args or {}) do
        cmd = cmd .. " " .. S.shquote(a)
    end
    local inner = string.format("%s </dev/null >%s/out 2>%s/err & echo $! >%s/pid.tmp && "
        .. "mv %s/pid.tmp %s/pid; wait $!; echo $? >%s/status.tmp && mv %s/status.tmp %s/status",
        cmd, dir, dir, dir, dir, dir, dir, dir, dir)
    os.execute("sh -c " .. S.shquote(inner) .. " </dev/null >/dev/null 2>&1 &")
    local self = setmetatable({ dir = dir }, Server)
    local line = S.wait_for(function()
        local out = S.read_file(dir .. "/out") or ""
        local pid = S.read_file(dir .. "/pid")
        self.pid = pid and tonumber(pid:match("%d+"))
        return self.pid and out:match("^([^\n]*)\n")
    end, 10)
    if not line then
        self:stop()
        error("no listening line for --host " .. host .. "; stderr:\n"
            .. (S.read_file(dir .. "/err") or ""), 2)
    end
    self.line = line
    self.port = tonumber(line:match(":(%d+)/$"))
    return self
end

-- GET / over `addr` (an IPv4 or IPv6 address) within 3 s; returns the raw response text.
function Server:get(addr)
    local c = assert(addr:find(":", 1, true) and socket.tcp6() or socket.tcp())
    c:settimeout(3)
    local where = string.format("%s port %s (%q; stderr: %s)", addr, tostring(self.port),
        self.line, S.read_file(self.dir .. "/err") or "")
    local ok, err = c:connect(addr, self.port)
    if not ok then
        c:close()
        error("connect to " .. where .. ": " .. tostring(err), 2)
    end
    ok, err = c:send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    if not ok then
        c:close()
        error("send to " .. where .. ": " .. tostring(err), 2)
    end
    local data, rerr, partial = c:receive("*a")
    c:close()
    if not data and rerr ~= "closed" then
        error("receive from " .. where .. ": " .. tostring(rerr), 2)
    end
    return data or partial
end

-- SIGTERM, then the exit status within 10 s (SIGKILL and nil after that) and stderr. (The status file
-- appears by a rename, so it is never read half-written.)
function Server:stop()
    if self.pid then
        os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
    end
    local st = S.wait_for(function() return S.read_file(self.dir .. "/status") end, 10)
    if not st and self.pid then
        os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
        S.wait_for(function() return S.read_file(self.dir .. "/status") end, 5)
    end
    local log = S.read_file(self.dir .. "/err") or ""
    os.execute("rm -rf " .. S.shquote(self.dir))
    return st and tonumber(st:match("%d+")), log
end

-- stop(), asserting a clean exit: status 0 and no sanitizer report.
function Server:stop_ok()
    local st, log = self:stop()
    if st ~= 0 or log:find("Sanitizer", 1, true) or log:find("runtime error:", 1, true) then
        error(string.format("lunaserve exited with status %s after SIGTERM\nstderr:\n%s",
            tostring(st), log), 2)
    end
end

return M
