-- Test support: a real Redis (Debian's redis-server) for the specs, on a free loopback port in
-- a temporary folder, with no persistence, stopped by its PID; and a small blocking RESP
-- client (lua-socket, every wait bounded) for the specs to look at it from the side.
--
--   local R = require("spec.support.redis")
--   local redis = R.start()            -- raises with the log's tail if it does not answer PING
--   redis:command("SET", "k", "v")     -- the reply: string, integer, array, R.NIL, or an error
--   redis:kill()                        -- SIGKILL, waits until the process and its port are gone
--   redis:stop()                        -- SIGTERM (SIGKILL after 5 s), removes the folder
--   local redis, srv = R.start_with_app("redis.lua")  -- and lunaserve with REDIS_PORT set
--   R.stop_with_app(redis, srv)        -- both: lunaserve must exit cleanly, Redis goes anyway
--
-- DEBUG is enabled (--enable-debug-command yes: Redis 7 refuses DEBUG SLEEP otherwise).

local socket = require("socket")
local S = require("spec.support.server")

local R = {}

local START_TIMEOUT = 10 -- seconds until Redis must answer PING
local STOP_TIMEOUT = 5

-- A nil bulk or array reply (distinct from a missing value).
R.NIL = setmetatable({}, { __tostring = function() return "(nil)" end })

local function alive(pid)
    return S.pid_alive(pid)
end

-- True while something listens on 127.0.0.1:port.
local function listening(port)
    local lhex = string.format(":%04X", port)
    for line in io.lines("/proc/net/tcp") do
        local l, st = line:match("^%s*%d+:%s+(%x+:%x+)%s+%x+:%x+%s+(%x+)")
        if l and l:sub(-5) == lhex and st == "0A" then
            return true
        end
    end
    return false
end

-- Gone: the main thread has exited and the listening socket is closed. (redis-server has
-- other threads: its main thread can be a zombie while they still hold its sockets, and a
-- connect then is accepted by the kernel and reset a moment later.)
local function gone(redis)
    return not alive(redis.pid) and not listening(redis.port)
end

local tail = S.tail

---------------------------------------------------------------------------------------------------
-- RESP client
---------------------------------------------------------------------------------------------------

local Client = {}
Client.__index = Client

-- A connection to Redis on 127.0.0.1:port; nil, err if it cannot connect within `timeout`.
function R.connect(port, timeout)
    local sock = socket.tcp4()
    sock:settimeout(timeout or 2)
    local ok, err = sock:connect("127.0.0.1", port)
    if not ok then
        sock:close()
        return nil, err
    end
    return setmetatable({ sock = sock, timeout = timeout or 2 }, Client)
end

local function encode(args)
    local out = { "*" .. #args .. "\r\n" }
    for _, a in ipairs(args) do
        a = tostring(a)
        out[#out + 1] = "$" .. #a .. "\r\n" .. a .. "\r\n"
    end
    return table.concat(out)
end

-- Reads one reply; an error reply comes back as nil, "ERR ...".
local function read_reply(sock)
    local line, err = sock:receive("*l")
    if not line then
        return nil, "read: " .. tostring(err)
    end
    local kind, rest = line:sub(1, 1), line:sub(2)
    if kind == "+" then
        return rest
    elseif kind == "-" then
        return nil, rest
    elseif kind == ":" then
        return math.tointeger(tonumber(rest))
    elseif kind == "$" then
        local n = tonumber(rest)
        if n < 0 then
            return R.NIL
        end
        local data, derr = sock:receive(n + 2)
        if not data then
            return nil, "read: " .. tostring(derr)
        end
        return data:sub(1, n)
    elseif kind == "*" then
        local n = tonumber(rest)
        if n < 0 then
            return R.NIL
        end
        local list = {}
        for i = 1, n do
            local v, verr = read_reply(sock)
            if v == nil then
                return nil, verr
            end
            list[i] = v
        end
        return list
    end
    return nil, "unexpected reply line " .. string.format("%q", line)
end

-- Sends one command and reads its reply (nil, err for an error reply or a failed read).
function Client:command(...)
    local ok, err = self.sock:send(encode({ ... }))
    if not ok then
        return nil, "send: " .. tostring(err)
    end
    return read_reply(self.sock)
end

function Client:close()
    self.sock:close()
end

---------------------------------------------------------------------------------------------------
-- The server process
---------------------------------------------------------------------------------------------------

local Redis = {}
Redis.__index = Redis

-- One attempt: a Redis, or nil and the reason with the log's tail.
local function start_on(port)
    local dir = S.mktempdir()
    local argv = { "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", dir, "--pidfile", dir .. "/redis.pid",
        "--logfile", dir .. "/redis.log", "--daemonize", "no", "--enable-debug-command", "yes" }
    local quoted = {}
    for i, a in ipairs(argv) do
        quoted[i] = S.shquote(a)
    end
    -- (in the background; the shell writes its pid before it can do anything else)
    os.execute(string.format("%s </dev/null >%s/out 2>&1 & echo $! >%s/pid",
        table.concat(quoted, " "), dir, dir))
    local self = setmetatable({ dir = dir, port = port }, Redis)
    local pid = tonumber((S.read_file(dir .. "/pid") or ""):match("%d+"))
    self.pid = pid
    local deadline = S.now() + START_TIMEOUT
    local why = "no answer to PING within " .. START_TIMEOUT .. " s"
    while true do
        if not pid or not alive(pid) then
            why = "redis-server exited"
            break
        end
        local c = R.connect(port, 0.5)
        if c then
            local pong, err = c:command("PING")
            -- (and it is this process, not another Redis already on that port)
            local info = pong == "PONG" and c:command("INFO", "server") or ""
            c:close()
            local other = tonumber(info:match("\r\nprocess_id:(%d+)"))
            if other == pid then
                return self
            end
            why = other and ("port taken by another Redis (pid " .. other .. ")")
                or "PING: " .. tostring(err or pong)
        end
        if S.now() > deadline then
            break
        end
        socket.sleep(0.02)
    end
    local log = (S.read_file(dir .. "/out") or "") .. (S.read_file(dir .. "/redis.log") or "")
    if pid and alive(pid) then
        os.execute("kill -KILL " .. pid)
    end
    os.execute("rm -rf " .. S.shquote(dir))
    return nil, string.format("redis-server did not start on 127.0.0.1:%d: %s\n%s\nlog (tail):\n%s",
        port, why, table.concat(quoted, " "), tail(log, 20))
end

-- Starts redis-server. opts.port: a fixed port (to restart on the port an app was given);
-- default: a free one, and another if something took it before Redis could (3 tries). Raises,
-- with the reason and the log's tail, if it does not answer PING within START_TIMEOUT seconds.
function R.start(opts)
    opts = opts or {}
    local redis, err
    for _ = 1, opts.port and 1 or 3 do
        redis, err = start_on(opts.port or S.free_port())
        if redis or not err:find("Address already in use", 1, true) then
            break
        end
    end
    if not redis then
        error(err, 2)
    end
    return redis
end

-- One command on a fresh connection; raises on a failed connection, returns what Client does.
function Redis:command(...)
    local c = assert(R.connect(self.port, 3))
    local r, err = c:command(...)
    c:close()
    return r, err
end

-- A field of INFO (e.g. "blocked_clients"), as a string.
function Redis:info(field)
    local text = assert(self:command("INFO"))
    return text:match("\r\n" .. field .. ":([^\r\n]*)")
end

-- Waits until pred(redis) is truthy, for at most `timeout` seconds; returns its value or nil.
function Redis:wait_for(pred, timeout)
    return S.wait_for(function() return pred(self) end, timeout or 3, 0.01)
end

function Redis:alive()
    return alive(self.pid)
end

-- SIGKILL, then waits until the process is gone and nothing listens on its port (bounded);
-- true if so.
function Redis:kill()
    os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
    return S.wait_for(function() return gone(self) end, STOP_TIMEOUT) and true or false
end

-- SIGTERM, SIGKILL if still there after STOP_TIMEOUT, then removes the folder. Raises if the
-- process does not go away.
function Redis:stop()
    if self.stopped then
        return
    end
    self.stopped = true
    if not gone(self) then
        os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
        if not S.wait_for(function() return gone(self) end, STOP_TIMEOUT) then
            if not self:kill() then
                error("redis-server (pid " .. self.pid .. ") did not exit", 2)
            end
        end
    end
    os.execute("rm -rf " .. S.shquote(self.dir))
end

-- A Redis and a lunaserve serving spec/apps/APP with REDIS_PORT set to that Redis' port
-- (the Redis is stopped again if lunaserve does not start). Returns redis, server.
function R.start_with_app(app, args)
    local redis = R.start()
    return redis, S.start_beside(redis, { app = S.app(app), args = args,
        env = { REDIS_PORT = tostring(redis.port) } })
end

-- Stops what R.start_with_app started (S.stop_beside: lunaserve must exit cleanly; the Redis
-- goes anyway).
function R.stop_with_app(redis, srv)
    S.stop_beside(redis, srv)
end

return R
