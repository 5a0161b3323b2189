-- Debian's HAProxy for the deployment spec: deploy/haproxy.cfg (the README's example) run in
-- the foreground on free ports from a temporary folder, its admin socket on TCP, stopped by
-- its PID. A HAProxy that cannot start fails the spec with its own messages.
local S = require("spec.support.server")
local socket = require("socket")

local H = {}
local Haproxy = {}
Haproxy.__index = Haproxy

local BIN = "/usr/sbin/haproxy"

-- hosts: the lunaserve addresses ("127.0.0.1:PORT") for h1, h2, h3.
function H.start(hosts)
    local f = io.open(BIN)
    assert(f, "HAProxy is not installed (" .. BIN .. "): apt-get install haproxy")
    f:close()
    local dir = S.mktempdir()
    local self = setmetatable({ dir = dir, port = S.free_port(), admin = S.free_port() }, Haproxy)
    local env = string.format("FRONT=127.0.0.1:%d ADMIN=127.0.0.1:%d H1=%s H2=%s H3=%s",
        self.port, self.admin, hosts[1], hosts[2], hosts[3])
    local cmd = string.format("cd %s && env %s %s -db -f %s >%s/out 2>&1 & echo $! >%s/pid",
        S.shquote(dir), env, BIN, S.shquote(S.root .. "/deploy/haproxy.cfg"), dir, dir)
    os.execute("sh -c " .. S.shquote(cmd))
    assert(S.wait_for(function() return S.read_file(dir .. "/pid") end, 5), "no pid for HAProxy")
    self.pid = tonumber(S.read_file(dir .. "/pid"):match("%d+"))
    local up = S.wait_for(function()
        local c = socket.connect("127.0.0.1", self.port)
        if c then c:close() return true end
        return not S.pid_alive(self.pid) and "dead"
    end, 10)
    if up ~= true then
        local out = S.read_file(dir .. "/out") or ""
        self:stop()
        error("HAProxy did not start:\n" .. out, 2)
    end
    return self
end

-- A command on the admin socket; returns its answer.
function Haproxy:command(cmd)
    local c = assert(socket.connect("127.0.0.1", self.admin))
    c:settimeout(5)
    assert(c:send(cmd .. "\n"))
    local out = c:receive("*a")
    c:close()
    return out or ""
end

-- The backend's servers: name -> {status = "UP"|"DOWN"|"MAINT"|..., scur = n}.
function Haproxy:servers()
    local csv = self:command("show stat")
    local out = {}
    for line in csv:gmatch("[^\n]+") do
        local cols = {}
        for v in (line .. ","):gmatch("([^,]*),") do
            cols[#cols + 1] = v
        end
        if cols[1] == "todo" and cols[2] ~= "BACKEND" and cols[2] ~= "FRONTEND" then
            out[cols[2]] = { scur = tonumber(cols[5]), status = cols[18] }
        end
    end
    return out
end

-- Waits (at most timeout seconds) until server `name`'s status starts with `status`.
function Haproxy:wait_status(name, status, timeout)
    local last
    local ok = S.wait_for(function()
        last = (self:servers()[name] or {}).status
        return last and last:sub(1, #status) == status
    end, timeout or 10, 0.02)
    return ok, last
end

function Haproxy:stop()
    if self.pid and S.pid_alive(self.pid) then
        S.kill_pid(self.pid, "TERM")
        if not S.wait_for(function() return not S.pid_alive(self.pid) end, 5) then
            S.kill_pid(self.pid, "KILL")
        end
    end
    os.execute("rm -rf " .. S.shquote(self.dir))
end

return H
