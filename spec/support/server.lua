-- Test support for the black-box specs: start and stop the real lunaserve binary, and talk to it
-- over raw TCP (lua-socket) with a deadline on every wait.
--
-- Process control goes through files rather than a pipe, so that every wait can be bounded:
-- a small `sh` wrapper runs the binary in the background with stdout and stderr in files,
-- writes the binary's pid to a file, waits for it and writes its exit status to a file.
--
-- How a connection ended: lua-socket 3 reports both a clean end (FIN, recv() == 0) and a reset
-- (recv() fails with ECONNRESET) as the same error string "closed" (checked empirically, see
-- spec/helpers_spec.lua). So after the peer's end has been seen, the kind is read from the
-- kernel: a socket that got a FIN and has not been closed by us sits in CLOSE_WAIT (state 08 in
-- /proc/net/tcp); a socket that got a reset is in CLOSE and gone from the table.

local socket = require("socket")
-- (busted's assert: the global one is the plain Lua assert in a module a spec requires)
local assert = require("luassert")

local M = {}

-- Repository root: this file is spec/support/server.lua.
local function repo_root()
    local src = debug.getinfo(1, "S").source:gsub("^@", "")
    local dir = src:match("^(.*)/spec/support/server%.lua$")
    if dir == nil or dir == "" then
        dir = "."
    end
    if dir:sub(1, 1) ~= "/" then
        local pwd = os.getenv("PWD")
        if pwd == nil then
            local p = io.popen("pwd")
            pwd = p:read("l")
            p:close()
        end
        dir = (dir == ".") and pwd or (pwd .. "/" .. dir)
    end
    return dir
end

M.root = repo_root()

function M.bin()
    local env = os.getenv("LUNASERVE_BIN")
    if env and env ~= "" then
        return env
    end
    return M.root .. "/build/lunaserve"
end

-- Path of a test app under spec/apps/.
function M.app(name)
    return M.root .. "/spec/apps/" .. name
end

function M.now()
    return socket.gettime()
end

function M.sleep(s)
    socket.sleep(s)
end

function M.shquote(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- A value quoted for a failure message.
function M.q(s)
    return string.format("%q", tostring(s))
end

-- How many times `needle` (plain) occurs in `hay`.
function M.count(hay, needle)
    local n, i = 0, 1
    while true do
        local _, e = hay:find(needle, i, true)
        if not e then
            return n
        end
        n, i = n + 1, e + 1
    end
end

local function read_file(path)
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    local s = f:read("a")
    f:close()
    return s
end
M.read_file = read_file

local function write_file(path, data)
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
end
M.write_file = write_file

local function mktempdir()
    local p = assert(io.popen("mktemp -d /tmp/lunaserve-spec.XXXXXX"))
    local dir = p:read("l")
    p:close()
    assert(dir and dir ~= "", "mktemp -d failed")
    return dir
end
M.mktempdir = mktempdir

-- Wait until pred() returns a truthy value or `timeout` seconds pass; returns pred's value or nil.
function M.wait_for(pred, timeout, step)
    local deadline = M.now() + (timeout or 3)
    repeat
        local v = pred()
        if v then
            return v
        end
        socket.sleep(step or 0.01)
    until M.now() > deadline
    return pred()
end

---------------------------------------------------------------------------------------------------
-- Running the binary to completion (CLI tests)
---------------------------------------------------------------------------------------------------

-- Runs the binary with the given argument list (and optional env table), bounded by `timeout`
-- seconds (the coreutils `timeout` kills it after that). Returns stdout, stderr, exit code.
function M.run(args, opts)
    opts = opts or {}
    local dir = mktempdir()
    local parts = {}
    if opts.env then
        parts[#parts + 1] = "env"
        for k, v in pairs(opts.env) do
            parts[#parts + 1] = M.shquote(k .. "=" .. v)
        end
    end
    parts[#parts + 1] = "timeout -s KILL " .. tostring(opts.timeout or 10)
    parts[#parts + 1] = M.shquote(M.bin())
    for _, a in ipairs(args or {}) do
        parts[#parts + 1] = M.shquote(a)
    end
    local cmd = table.concat(parts, " ") .. " </dev/null >" .. dir .. "/out 2>" .. dir .. "/err"
    local ok, how, code = os.execute(cmd)
    local out, err = read_file(dir .. "/out") or "", read_file(dir .. "/err") or ""
    os.execute("rm -rf " .. M.shquote(dir))
    if how == "signal" then
        code = 128 + code
    end
    return out, err, code
end

---------------------------------------------------------------------------------------------------
-- A running server
---------------------------------------------------------------------------------------------------

local Server = {}
Server.__index = Server

local START_TIMEOUT = tonumber(os.getenv("LUNASERVE_SPEC_START_TIMEOUT") or "") or 10
local STOP_TIMEOUT = tonumber(os.getenv("LUNASERVE_SPEC_STOP_TIMEOUT") or "") or 10

-- Starts the server. opts.app: app path (nil: none given, the binary serves apps/hello);
-- opts.args: extra options; opts.env: extra environment; opts.port: a fixed port instead of
-- --port 0 (false: no --port option at all). Returns a Server with .port, .pid, .dir.
local function start(opts, any)
    opts = opts or {}
    local dir = mktempdir()
    local argv = { M.bin(), "--host", "127.0.0.1" }
    if opts.port ~= false then
        argv[#argv + 1] = "--port"
        argv[#argv + 1] = tostring(opts.port or 0)
    end
    for _, a in ipairs(opts.args or {}) do
        argv[#argv + 1] = tostring(a)
    end
    if opts.app then
        argv[#argv + 1] = opts.app
    end
    local quoted = {}
    if opts.env then
        quoted[#quoted + 1] = "env"
        for k, v in pairs(opts.env) do
            quoted[#quoted + 1] = M.shquote(k .. "=" .. v)
        end
    end
    for _, a in ipairs(argv) do
        quoted[#quoted + 1] = M.shquote(a)
    end
    local inner = string.format(
        "%s </dev/null >%s/out 2>%s/err & echo $! >%s/pid.tmp && mv %s/pid.tmp %s/pid; "
            .. "wait $!; echo $? >%s/status.tmp && mv %s/status.tmp %s/status",
        table.concat(quoted, " "), dir, dir, dir, dir, dir, dir, dir, dir)
    os.execute("sh -c " .. M.shquote(inner) .. " </dev/null >/dev/null 2>&1 &")

    local self = setmetatable({ dir = dir, argv = argv }, Server)
    local deadline = M.now() + START_TIMEOUT
    while true do
        if not self.pid then
            local p = read_file(dir .. "/pid")
            if p and p:match("%d+") then
                self.pid = tonumber(p:match("%d+"))
            end
        end
        local out = read_file(dir .. "/out") or ""
        local line = out:match("^([^\n]*)\n")
        -- (the pid file can come after the listening line: wait for both)
        if line and self.pid then
            -- a master (any) may add " (N workers)"
            local host, port, rest = line:match("^lunaserve listening on http://([^:/]+):(%d+)/(.*)$")
            local workers = any and rest and rest:match("^ %((%d+) workers?%)$")
            if not port or (rest ~= "" and not workers) then
                self:kill()
                error("unexpected first line on stdout: " .. string.format("%q", line), 3)
            end
            self.host, self.port, self.listen_line = host, tonumber(port), line
            self.workers = workers and tonumber(workers) or nil
            self.stdout = out
            return self
        end
        local status = read_file(dir .. "/status")
        if status then
            error(string.format("lunaserve exited with status %s before listening\nargv: %s\n"
                .. "stderr:\n%s", status:gsub("%s+$", ""), table.concat(argv, " "),
                self:log()), 3)
        end
        if M.now() > deadline then
            self:kill()
            error(string.format("lunaserve printed no listening line within %gs\nargv: %s\n"
                .. "stderr:\n%s", START_TIMEOUT, table.concat(argv, " "), self:log()), 3)
        end
        socket.sleep(0.01)
    end
end

-- Starts a single-process server (see start above for opts).
function M.start(opts)
    return start(opts, false)
end

-- The server's stderr so far.
function Server:log()
    return read_file(self.dir .. "/err") or ""
end

-- Exit status once the process has exited, else nil.
function Server:exit_status()
    local s = read_file(self.dir .. "/status")
    return s and tonumber(s:match("%d+")) or nil
end

function Server:alive()
    return self:exit_status() == nil
end

function Server:signal(sig)
    assert(self.pid, "no pid for the server")
    if self:alive() then
        os.execute("kill -" .. sig .. " " .. self.pid .. " 2>/dev/null")
    end
end

-- Last resort: SIGKILL and wait for the wrapper to record the status.
function Server:kill()
    if not self.pid then
        local p = M.wait_for(function() return read_file(self.dir .. "/pid") end, 2)
        self.pid = p and tonumber(p:match("%d+"))
    end
    if not self.pid then
        return
    end
    self:signal("KILL")
    M.wait_for(function() return self:exit_status() end, 5)
end

-- Sends `sig` (default TERM) and waits (bounded) for the exit. Returns the exit status;
-- on timeout kills the process with SIGKILL and raises.
function Server:wait_exit(timeout)
    local st = M.wait_for(function() return self:exit_status() end, timeout or STOP_TIMEOUT)
    return st
end

function Server:stop(sig)
    if self.stopped then
        return self.status
    end
    self:signal(sig or "TERM")
    local st = self:wait_exit(STOP_TIMEOUT)
    if not st then
        -- what was it still holding? (sockets and their states, for the failure message)
        local p = io.popen("ss -tanp 2>/dev/null | grep 'pid=" .. tostring(self.pid) .. ",'; "
            .. "grep -E '^(State|Threads)' /proc/" .. tostring(self.pid) .. "/status; "
            .. "ls -l /proc/" .. tostring(self.pid) .. "/fd 2>&1 | tail -n +2; "
            .. "command -v gdb >/dev/null && timeout 20 gdb -p " .. tostring(self.pid)
            .. " -batch -ex 'thread apply all bt' 2>/dev/null | grep -E '^(#|Thread)'; "
            .. "echo files:; ls -l " .. self.dir .. "; echo processes:; ps -eo pid,ppid,stat,args | grep -F "
            .. M.shquote(self.dir) .. " | grep -v grep")
        local sockets = p and p:read("a") or ""
        if p then
            p:close()
        end
        self:kill()
        self.stopped, self.status = true, self:exit_status()
        error(string.format("lunaserve did not exit within %gs of SIG%s\nprocess state:\n%s"
            .. "stderr:\n%s", STOP_TIMEOUT, sig or "TERM", sockets, self:log()), 2)
    end
    self.stopped, self.status = true, st
    self.final_log = self:log()
    os.execute("rm -rf " .. M.shquote(self.dir))
    return st
end

-- Stops the server and asserts a clean exit: status 0 (under ASan a leak makes it non-zero)
-- and no sanitizer report in the log.
function Server:stop_ok(sig)
    local st = self:stop(sig)
    local log = self.final_log or ""
    if st ~= 0 then
        error(string.format("lunaserve exited with status %s after SIG%s (expected 0)\n"
            .. "stderr:\n%s", tostring(st), sig or "TERM", log), 2)
    end
    if log:find("Sanitizer", 1, true) or log:find("runtime error:", 1, true) then
        error("sanitizer report in lunaserve's stderr:\n" .. log, 2)
    end
    return st
end

function Server:connect(timeout)
    return M.connect(self.port, timeout)
end

-- One request on a fresh connection; returns the parsed response (and the connection).
function Server:fetch(raw, opts)
    local c = self:connect()
    assert(c:send(raw))
    local res, err, partial = c:read_response(opts)
    c:close()
    return res, err, partial
end

---------------------------------------------------------------------------------------------------
-- Raw TCP
---------------------------------------------------------------------------------------------------

local Conn = {}
Conn.__index = Conn
M.Conn = Conn

local DEFAULT_TIMEOUT = 5

-- A Conn over a connected lua-socket TCP socket (`port`: the peer's port, for tcp_state).
function M.wrap(sock, port)
    local _, lport = sock:getsockname()
    return setmetatable({ sock = sock, data = "", pos = 1, pending = {}, pending_len = 0,
        eof = false, port = port, lport = tonumber(lport) }, Conn)
end

-- A connection to 127.0.0.1:port. opts.timeout; opts.rcvbuf (SO_RCVBUF in bytes, set before
-- the connection is made so that it shapes the handshake: a small one caps what the kernel
-- takes from the server for a client that does not read).
function M.connect_with(port, opts)
    opts = opts or {}
    local sock = assert(socket.tcp4())
    if opts.rcvbuf then
        assert(sock:setoption("recv-buffer-size", opts.rcvbuf))
    end
    sock:settimeout(opts.timeout or DEFAULT_TIMEOUT)
    local ok, err = sock:connect("127.0.0.1", port)
    if not ok then
        sock:close()
        error("connect to 127.0.0.1:" .. tostring(port) .. " failed: " .. tostring(err), 2)
    end
    sock:setoption("tcp-nodelay", true)
    return M.wrap(sock, port)
end

function M.connect(port, timeout)
    return M.connect_with(port, { timeout = timeout })
end

-- Ports for free_port: a slice of the ports just below the kernel's ephemeral range, which
-- the kernel never hands out by itself (not for port 0, not as a connection's local port), so
-- a port chosen here and released stays free until its service binds it, however many
-- connections the specs open meanwhile. For N runs of busted at once, LUNASERVE_SPEC_SHARDS=N
-- and LUNASERVE_SPEC_SHARD=K (0..N-1) give each its own slice.
local port_slice = (function()
    local f = io.open("/proc/sys/net/ipv4/ip_local_port_range")
    local low = f and tonumber((f:read("a") or ""):match("^%s*(%d+)"))
    if f then
        f:close()
    end
    local span = 8000
    if not low or low - span < 10000 then
        return nil -- an unusual range: the kernel's choice for port 0, as before
    end
    local shards = math.max(1, tonumber(os.getenv("LUNASERVE_SPEC_SHARDS") or "") or 1)
    local shard = (tonumber(os.getenv("LUNASERVE_SPEC_SHARD") or "") or 0) % shards
    local size = span // shards
    local first = low - span + shard * size
    -- start somewhere else each run (pid and clock), then go round the slice
    local p = io.open("/proc/self/stat")
    local pid = p and tonumber((p:read("l") or ""):match("^(%d+)")) or 0
    if p then
        p:close()
    end
    return { first = first, size = size, next = (pid * 7919 + math.floor(socket.gettime() * 1000)) % size }
end)()

-- A port on 127.0.0.1 that was free a moment ago (bound and released): for a service to start
-- on, or for a connect that must be refused.
function M.free_port()
    if port_slice then
        for _ = 1, 200 do
            local port = port_slice.first + port_slice.next
            port_slice.next = (port_slice.next + 1) % port_slice.size
            local s = socket.tcp4()
            if s and s:bind("127.0.0.1", port) then
                s:close()
                return port
            end
            if s then
                s:close()
            end
        end
    end
    local s = assert(socket.bind("127.0.0.1", 0))
    local _, port = s:getsockname()
    s:close()
    return tonumber(port)
end

-- Sends all of `data` within `timeout` seconds. Returns true, or nil, err, bytes_sent.
function Conn:send(data, timeout)
    local deadline = M.now() + (timeout or DEFAULT_TIMEOUT)
    local i = 1
    while i <= #data do
        local left = deadline - M.now()
        if left <= 0 then
            return nil, "timeout", i - 1
        end
        self.sock:settimeout(left)
        local last, err, partial = self.sock:send(data, i)
        if last then
            return true
        end
        if err ~= "timeout" then
            return nil, err, (partial or i - 1)
        end
        i = partial + 1
    end
    return true
end

-- Sends `data` in pieces of `size` bytes with `pause` seconds between them.
function Conn:send_slowly(data, size, pause)
    for i = 1, #data, size do
        local ok, err = self:send(data:sub(i, i + size - 1))
        if not ok then
            return nil, err
        end
        if pause and pause > 0 then
            socket.sleep(pause)
        end
    end
    return true
end

-- The kernel's view of this connection: TCP state as two hex digits, or nil if the socket is
-- no longer in /proc/net/tcp (closed after a reset).
function Conn:tcp_state()
    local lhex, rhex = string.format(":%04X", self.lport), string.format(":%04X", self.port)
    for line in io.lines("/proc/net/tcp") do
        local l, r, st = line:match("^%s*%d+:%s+(%x+:%x+)%s+(%x+:%x+)%s+(%x+)")
        if l and l:sub(-5) == lhex and r:sub(-5) == rhex then
            return st
        end
    end
    return nil
end

-- After the peer's end has been seen: "fin" (CLOSE_WAIT) or "reset".
function Conn:end_kind()
    if self.reset_seen then
        return "reset"
    end
    local st = self:tcp_state()
    if st == "08" then
        return "fin"
    end
    return "reset"
end

-- Reads what is available within `timeout` seconds (at least one byte, or end/timeout) into
-- the buffer. Returns true if bytes arrived, nil, "closed" | "timeout" otherwise.
function Conn:fill(timeout)
    if self.eof then
        return nil, "closed"
    end
    local left = timeout
    if left < 0 then
        left = 0
    end
    local r = socket.select({ self.sock }, nil, left)
    if not r or #r == 0 then
        return nil, "timeout"
    end
    self.sock:settimeout(0)
    local data, err, partial = self.sock:receive(1048576)
    local got = data or partial
    if got and #got > 0 then
        self.pending[#self.pending + 1] = got
        self.pending_len = self.pending_len + #got
    end
    if err == "closed" then
        self.eof = true
        self.end_kind_cached = self:end_kind()
    elseif err and err ~= "timeout" then
        self.eof = true
        self.reset_seen = true
        self.end_error = err
    end
    if got and #got > 0 then
        return true
    end
    if self.eof then
        return nil, "closed"
    end
    return true -- select said readable but nothing came: try again
end

-- The input buffer: `data` from `pos` on, then the `pending` pieces (appended without copying
-- the whole buffer, so that reading tens of MiB stays linear).
function Conn:buffered()
    return #self.data - self.pos + 1 + self.pending_len
end

local function flatten(self)
    if #self.pending > 0 then
        self.data = self.data:sub(self.pos) .. table.concat(self.pending)
        self.pos = 1
        self.pending = {}
        self.pending_len = 0
    end
end

local function take(self, n)
    flatten(self)
    local s = self.data:sub(self.pos, self.pos + n - 1)
    self.pos = self.pos + #s
    if self.pos > #self.data then
        self.data, self.pos = "", 1
    end
    return s
end

-- Drops whatever is buffered (returns it).
function Conn:discard()
    return take(self, self:buffered())
end

-- Reads exactly n bytes. Returns the bytes, or nil, err ("closed" | "timeout"), partial bytes.
function Conn:receive_exact(n, timeout)
    local deadline = M.now() + (timeout or DEFAULT_TIMEOUT)
    while self:buffered() < n do
        local ok, err = self:fill(deadline - M.now())
        if not ok then
            if err == "timeout" and M.now() < deadline then
                -- spurious, loop
            else
                return nil, err, take(self, self:buffered())
            end
        end
    end
    return take(self, n)
end

-- Reads until the peer ends the connection. Returns data, kind ("fin" | "reset" | "timeout").
function Conn:read_until_close(timeout)
    local deadline = M.now() + (timeout or DEFAULT_TIMEOUT)
    while not self.eof do
        local left = deadline - M.now()
        if left <= 0 then
            return take(self, self:buffered()), "timeout"
        end
        self:fill(left)
    end
    return take(self, self:buffered()), self.end_kind_cached or self:end_kind()
end

-- Reads until `pattern` (plain) is in the buffer; returns everything up to and including it.
function Conn:read_until(pattern, timeout)
    local deadline = M.now() + (timeout or DEFAULT_TIMEOUT)
    while true do
        flatten(self)
        local i, j = self.data:find(pattern, self.pos, true)
        if i then
            return take(self, j - self.pos + 1)
        end
        local left = deadline - M.now()
        if left <= 0 then
            return nil, "timeout", self.data:sub(self.pos)
        end
        local ok, err = self:fill(left)
        if not ok and err == "closed" then
            flatten(self)
            return nil, "closed", self.data:sub(self.pos)
        end
    end
end

-- True if the connection is still open and quiet for `wait` seconds (a receive times out).
-- Otherwise false and "data" or "closed".
function Conn:is_open(wait)
    if self:buffered() > 0 then
        return false, "data"
    end
    local ok, err = self:fill(wait or 0.1)
    if ok then
        return false, "data"
    end
    if err == "timeout" then
        return true
    end
    return false, "closed"
end

-- Waits up to `timeout` for the peer to end the connection without sending anything more.
-- Returns kind ("fin" | "reset" | "timeout"), extra bytes received.
function Conn:wait_close(timeout)
    local data, kind = self:read_until_close(timeout)
    return kind, data
end

-- Sends `total` bytes of request body in 64 KiB pieces without reading, within `timeout`
-- seconds (default 10); returns the bytes sent and, if it stopped short, the error.
function Conn:upload(total, timeout)
    local piece = string.rep("u", 65536)
    local sent = 0
    local deadline = M.now() + (timeout or 10)
    while sent < total do
        local n = math.min(#piece, total - sent)
        local ok, err = self:send(n == #piece and piece or piece:sub(1, n),
            math.max(0.01, deadline - M.now()))
        if not ok then
            return sent, err
        end
        sent = sent + n
    end
    return sent
end

function Conn:close()
    if not self.closed then
        self.closed = true
        self.sock:close()
    end
end

-- Resets the connection (SO_LINGER 0 then close).
function Conn:reset()
    if not self.closed then
        self.sock:setoption("linger", { on = true, timeout = 0 })
        self:close()
    end
end

---------------------------------------------------------------------------------------------------
-- HTTP/1.1 responses
---------------------------------------------------------------------------------------------------

local Response = {}
Response.__index = Response
M.Response = Response

-- Value of a header (case-insensitive name), repeated fields joined with ", "; nil if absent.
function Response:header(name)
    return self.headers[name:lower()]
end

-- How many field lines carry this name.
function Response:header_count(name)
    local n = 0
    for _, h in ipairs(self.header_list) do
        if h[1]:lower() == name:lower() then
            n = n + 1
        end
    end
    return n
end

-- True if the comma-separated header `name` has `token` (case-insensitive).
function Response:has_token(name, token)
    local v = self:header(name)
    if not v then
        return false
    end
    for t in v:gmatch("[^,]+") do
        if t:match("^%s*(.-)%s*$"):lower() == token:lower() then
            return true
        end
    end
    return false
end

local function parse_head(head)
    local lines = {}
    for line in (head .. "\r\n"):gmatch("(.-)\r\n") do
        lines[#lines + 1] = line
    end
    local res = setmetatable({ headers = {}, header_list = {} }, Response)
    res.status_line = lines[1]
    local version, status, reason = lines[1]:match("^(HTTP/%d%.%d) (%d%d%d) (.*)$")
    if not version then
        version, status = lines[1]:match("^(HTTP/%d%.%d) (%d%d%d)$")
        reason = nil
    end
    if not version then
        return nil, "bad status line: " .. string.format("%q", lines[1])
    end
    res.version, res.status, res.reason = version, tonumber(status), reason
    for i = 2, #lines do
        local line = lines[i]
        if line ~= "" then
            local name, value = line:match("^([^:%s]+):[ \t]*(.-)[ \t]*$")
            if not name then
                return nil, "bad header line: " .. string.format("%q", line)
            end
            res.header_list[#res.header_list + 1] = { name, value }
            local key = name:lower()
            if res.headers[key] then
                res.headers[key] = res.headers[key] .. ", " .. value
            else
                res.headers[key] = value
            end
        end
    end
    return res
end

-- Reads one complete response. opts.head: the request was HEAD (no body); opts.timeout.
-- Returns a Response with: status_line, version, status, reason, headers (lower-case names),
-- header_list, raw_head, body, framing ("none" | "length" | "chunked" | "close"), chunks
-- ({size_line=, data=}), trailers, raw (all bytes of the response), end_kind (for "close").
-- On failure returns nil, err, partial (a table with what was read so far).
function Conn:read_response(opts)
    opts = opts or {}
    local timeout = opts.timeout or DEFAULT_TIMEOUT
    local deadline = M.now() + timeout
    local head, err = self:read_until("\r\n\r\n", timeout)
    if not head then
        flatten(self)
        return nil, "no complete head: " .. tostring(err), { raw = self.data:sub(self.pos) }
    end
    local res, perr = parse_head(head:sub(1, -5))
    if not res then
        return nil, perr, { raw = head }
    end
    res.raw_head = head
    local raw = { head }
    local status = res.status
    local te = res:header("transfer-encoding")
    local cl = res:header("content-length")
    local function fail(msg)
        res.raw = table.concat(raw)
        return nil, msg, res
    end
    if opts.head or (status >= 100 and status < 200) or status == 204 or status == 304 then
        res.framing = "none"
        res.body = ""
    elseif te then
        local codings = {}
        for t in te:gmatch("[^,]+") do
            codings[#codings + 1] = t:match("^%s*(.-)%s*$"):lower()
        end
        if codings[#codings] ~= "chunked" then
            return fail("transfer-encoding without final chunked: " .. te)
        end
        res.framing = "chunked"
        res.chunks = {}
        local body = {}
        while true do
            local line, lerr = self:read_until("\r\n", deadline - M.now())
            if not line then
                res.body = table.concat(body)
                return fail("chunk size line: " .. tostring(lerr))
            end
            raw[#raw + 1] = line
            local size_line = line:sub(1, -3)
            local hex = size_line:match("^(%x+)")
            if not hex then
                res.body = table.concat(body)
                return fail("bad chunk size line: " .. string.format("%q", size_line))
            end
            local size = tonumber(hex, 16)
            if size == 0 then
                -- trailer section up to an empty line
                res.trailers = {}
                while true do
                    local tl, terr = self:read_until("\r\n", deadline - M.now())
                    if not tl then
                        res.body = table.concat(body)
                        return fail("trailer: " .. tostring(terr))
                    end
                    raw[#raw + 1] = tl
                    if tl == "\r\n" then
                        break
                    end
                    res.trailers[#res.trailers + 1] = tl:sub(1, -3)
                end
                res.last_chunk_line = size_line
                break
            end
            local data, derr = self:receive_exact(size + 2, deadline - M.now())
            if not data then
                res.body = table.concat(body)
                return fail("chunk data: " .. tostring(derr))
            end
            raw[#raw + 1] = data
            if data:sub(-2) ~= "\r\n" then
                res.body = table.concat(body)
                return fail("chunk data not followed by CRLF")
            end
            res.chunks[#res.chunks + 1] = { size_line = size_line, data = data:sub(1, -3) }
            body[#body + 1] = data:sub(1, -3)
        end
        res.body = table.concat(body)
    elseif cl then
        local n = tonumber(cl)
        if not n or not cl:match("^%d+$") then
            return fail("bad content-length: " .. cl)
        end
        res.framing = "length"
        local data, derr, partial = self:receive_exact(n, deadline - M.now())
        if not data then
            res.body = partial
            raw[#raw + 1] = partial
            return fail("body: " .. tostring(derr) .. " after " .. #partial .. " of " .. n)
        end
        raw[#raw + 1] = data
        res.body = data
    else
        res.framing = "close"
        local data, kind = self:read_until_close(deadline - M.now())
        raw[#raw + 1] = data
        res.body = data
        res.end_kind = kind
        if kind == "timeout" then
            return fail("close-delimited body: no end within timeout")
        end
    end
    res.raw = table.concat(raw)
    return res
end

-- Reads n responses in order (e.g. after pipelining). Returns the list, or nil, err, list.
function Conn:read_responses(n, opts)
    local list = {}
    for i = 1, n do
        local res, err = self:read_response(opts)
        if not res then
            return nil, "response " .. i .. ": " .. tostring(err), list
        end
        list[#list + 1] = res
    end
    return list
end

-- Reads one response that must end the connection, then that end (waiting up to 3 s for it);
-- returns the response, the bytes after it and the kind of end ("fin" | "reset" | "timeout").
-- Asserts that a complete response came within `timeout` seconds (default 3).
function Conn:read_final(timeout)
    local res, err, partial = self:read_response({ timeout = timeout or 3 })
    assert.is_truthy(res, "no response: " .. tostring(err) .. " got "
        .. M.q(partial and partial.raw or ""))
    if res.framing == "close" then
        return res, "", res.end_kind
    end
    local extra, kind = self:read_until_close(3)
    return res, extra, kind
end

-- Builds a request. headers: list of {name, value} or a map; Host is added for HTTP/1.1
-- unless headers contain it or opts.no_host.
function M.request(method, target, headers, body, version)
    version = version or "HTTP/1.1"
    local out = { method .. " " .. target .. " " .. version .. "\r\n" }
    local has_host = false
    local list = {}
    if headers then
        if headers[1] then
            list = headers
        else
            for k, v in pairs(headers) do
                list[#list + 1] = { k, v }
            end
            table.sort(list, function(a, b) return a[1] < b[1] end)
        end
    end
    for _, h in ipairs(list) do
        if h[1]:lower() == "host" then
            has_host = true
        end
    end
    if not has_host and version == "HTTP/1.1" then
        out[#out + 1] = "Host: 127.0.0.1\r\n"
    end
    for _, h in ipairs(list) do
        out[#out + 1] = h[1] .. ": " .. h[2] .. "\r\n"
    end
    if body then
        local has_framing = false
        for _, h in ipairs(list) do
            local n = h[1]:lower()
            if n == "content-length" or n == "transfer-encoding" then
                has_framing = true
            end
        end
        if not has_framing then
            out[#out + 1] = "Content-Length: " .. #body .. "\r\n"
        end
    end
    out[#out + 1] = "\r\n"
    out[#out + 1] = body or ""
    return table.concat(out)
end

function M.get(target, headers, version)
    return M.request("GET", target, headers, nil, version)
end

-- Encodes `pieces` as a chunked body (each piece one chunk), with the last chunk.
function M.chunked(pieces)
    local out = {}
    for _, p in ipairs(pieces) do
        out[#out + 1] = string.format("%x\r\n%s\r\n", #p, p)
    end
    out[#out + 1] = "0\r\n\r\n"
    return table.concat(out)
end

-- IMF-fixdate (RFC 9110 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
M.IMF_FIXDATE = "^%u%l%l, %d%d %u%l%l %d%d%d%d %d%d:%d%d:%d%d GMT$"

-- key=value lines (as the spec apps report state) -> table.
function M.parse_kv(s)
    local t = {}
    for k, v in (s or ""):gmatch("([^=\n]+)=([^\n]*)") do
        t[k] = v
    end
    return t
end


---------------------------------------------------------------------------------------------------
-- The kernel's view: memory of the server, TCP states
---------------------------------------------------------------------------------------------------

-- A field of /proc/PID/status in KiB (e.g. "VmRSS", "VmHWM"), or nil.
function Server:status_kb(field)
    local s = read_file("/proc/" .. tostring(self.pid) .. "/status") or ""
    return tonumber(s:match(field .. ":%s*(%d+)"))
end

-- Whether the process has a shared library whose file name starts with `name` mapped (a
-- library loaded on first use: "libpq", "libcrypto").
function Server:maps_library(name)
    local maps = assert(read_file("/proc/" .. tostring(self.pid) .. "/maps"))
    return maps:find("/" .. name:gsub("%p", "%%%0") .. "%.so") ~= nil
end

-- Polls the kernel's view of this connection (without reading) until pred(state) is true or
-- `timeout` passes; returns the state and the seconds waited, or nil, "timeout".
function Conn:wait_tcp_state(pred, timeout)
    local t0 = M.now()
    local deadline = t0 + (timeout or DEFAULT_TIMEOUT)
    repeat
        local st = self:tcp_state()
        if pred(st) then
            return st or "gone", M.now() - t0
        end
        socket.sleep(0.01)
    until M.now() > deadline
    return nil, "timeout"
end


---------------------------------------------------------------------------------------------------
-- Processes, signals, reload (masters and workers)
---------------------------------------------------------------------------------------------------

-- Like M.start, but also accepts the master's listening line
-- "lunaserve listening on http://HOST:PORT/ (N workers)"; sets .workers to N (nil for a single
-- process). Same options as M.start.
function M.start_any(opts)
    return start(opts, true)
end

-- True if process `pid` exists and is not a zombie.
function M.pid_alive(pid)
    local s = read_file("/proc/" .. tostring(pid) .. "/stat")
    if not s then
        return false
    end
    local state = s:match("^%d+ %(.*%) (%a)")
    return state ~= nil and state ~= "Z"
end

-- Live (non-zombie) child processes of `pid`, sorted.
function M.children(pid)
    local list = {}
    local p = io.popen("pgrep -P " .. tostring(tonumber(pid)) .. " 2>/dev/null")
    if p then
        for l in p:lines() do
            local c = tonumber(l)
            if c and M.pid_alive(c) then
                list[#list + 1] = c
            end
        end
        p:close()
    end
    table.sort(list)
    return list
end

-- Sends a signal to any process by pid (e.g. one worker).
function M.kill_pid(pid, sig)
    os.execute("kill -" .. sig .. " " .. tostring(tonumber(pid)) .. " 2>/dev/null")
end

-- The server's live child processes (the workers under a master).
function Server:children()
    return M.children(self.pid)
end

-- Waits (bounded) until the server has exactly n live children, none of them in `exclude`
-- (a list of pids); returns the list, or nil; the second result is always the last list seen.
function Server:wait_children(n, timeout, exclude)
    local ex = {}
    for _, p in ipairs(exclude or {}) do
        ex[p] = true
    end
    local last = {}
    local ok = M.wait_for(function()
        last = self:children()
        if #last ~= n then
            return false
        end
        for _, p in ipairs(last) do
            if ex[p] then
                return false
            end
        end
        return true
    end, timeout or 3, 0.01)
    if ok then
        return last, last
    end
    return nil, last
end

-- Waits (bounded) until the server's stderr contains `text` (plain) at least `count` times
-- (default 1); returns true, or false and the log.
function Server:wait_log(text, timeout, count)
    count = count or 1
    local log
    local ok = M.wait_for(function()
        log = self:log()
        return M.count(log, text) >= count
    end, timeout or 3, 0.01)
    return ok and true or false, log
end

-- Writes a file the way an editor that saves atomically does: a temporary file in the same
-- folder (not ending in .lua), then rename over the target.
function M.write_file_atomic(path, data)
    local tmp = path .. ".spec-tmp~"
    write_file(tmp, data)
    assert(os.rename(tmp, path))
end

-- GET `target` on a fresh connection; returns status and body (nil, err on failure).
function Server:get_body(target, timeout)
    local ok, c = pcall(M.connect, self.port, timeout or 3)
    if not ok then
        return nil, tostring(c)
    end
    local sent, serr = c:send(M.get(target))
    if not sent then
        c:close()
        return nil, "send: " .. tostring(serr)
    end
    local res, err = c:read_response({ timeout = timeout or 3 })
    c:close()
    if not res then
        return nil, err
    end
    return res.status, res.body
end

---------------------------------------------------------------------------------------------------
-- Checks shared by the specs
---------------------------------------------------------------------------------------------------

-- Options of the server that the specs of refused and odd requests share (with the app
-- spec/apps/echo_late_read.lua): tight target and head limits, short lingering.
M.TIGHT_LIMITS = { "--max-url", "100", "--max-header", "1024", "--header-timeout", "3",
    "--linger-idle", "0.5", "--linger-time", "2" }

-- Sends `raw` on a fresh connection and checks a refusal: an HTTP/1.1 response with `status`
-- that says Connection: close (and not keep-alive), nothing after it (a request pipelined
-- behind the bad one is never answered), then a FIN (not a reset: the server drains what the
-- client sent, RFC 9112 9.6). opts.timeout: for the response (default 3 s);
-- opts.keep_alive_token_ok: skip the check that Connection has no keep-alive token.
function Server:refused(raw, status, opts)
    opts = opts or {}
    local c = self:connect()
    assert(c:send(raw))
    local res, extra, kind = c:read_final(opts.timeout or 3)
    assert.are.equal("HTTP/1.1", res.version, res.status_line)
    assert.are.equal(status, res.status, "for " .. M.q(raw) .. " got " .. M.q(res.raw))
    assert.is_true(res:has_token("Connection", "close"), "no Connection: close in "
        .. M.q(res.raw_head))
    if not opts.keep_alive_token_ok then
        assert.is_false(res:has_token("Connection", "keep-alive"), res.raw_head)
    end
    assert.are.equal("", extra, "bytes after the " .. status .. " response")
    assert.are.equal("fin", kind, "the connection did not end with a FIN")
    c:close()
    return res
end

-- A keep-alive connection that has had one response to GET `target` (so it is idle, not new);
-- returns it and that response (read within `timeout` seconds, default 5).
function Server:idle_conn(target, timeout)
    local c = self:connect()
    assert(c:send(M.get(target)))
    local res = assert(c:read_response({ timeout = timeout }))
    assert.is_false(res:has_token("Connection", "close"), res.raw_head)
    return c, res
end

-- Waits (bounded) for the exit and asserts status 0 and no sanitizer report; returns the
-- seconds waited.
function Server:assert_clean_exit(timeout)
    local t0 = M.now()
    local st = self:wait_exit(timeout)
    local log = self:log()
    assert.is_truthy(st, "still running " .. timeout .. " s later\n" .. log)
    assert.are.equal(0, st, "exit status " .. tostring(st) .. "\n" .. log)
    assert.is_falsy(log:find("Sanitizer", 1, true) or log:find("runtime error:", 1, true), log)
    return M.now() - t0
end

-- GET /ping answers "pong" (spec/apps/lifecycle.lua).
function Server:assert_still_serving()
    local status, body = self:get_body("/ping", 3)
    assert.are.equal(200, status, "GET /ping: " .. tostring(body))
    assert.are.equal("pong", body)
end

-- What spec/apps/lifecycle.lua recorded: its /state as a table, its /events as a string.
function Server:state()
    local status, body = self:get_body("/state", 3)
    assert.are.equal(200, status, "GET /state: " .. tostring(body))
    return M.parse_kv(body)
end

function Server:events()
    local status, body = self:get_body("/events", 3)
    assert.are.equal(200, status, "GET /events: " .. tostring(body))
    return body
end

-- Polls /state until `key` is set, for at most `timeout` seconds (default 3); returns the
-- state then, or the last state seen.
function Server:wait_state(key, timeout)
    local st
    M.wait_for(function()
        st = self:state()
        return st[key] ~= nil
    end, timeout or 3, 0.02)
    return st
end

-- Like wait_state (default 2 s), but raises, listing the state, when `key` is still not set.
function Server:state_when(key, timeout)
    local st = self:wait_state(key, timeout or 2)
    if st[key] == nil then
        local lines = {}
        for k, v in pairs(st) do
            lines[#lines + 1] = k .. "=" .. v
        end
        table.sort(lines)
        error("state has no " .. key .. " after " .. (timeout or 2) .. " s:\n"
            .. table.concat(lines, "\n"), 2)
    end
    return st
end

---------------------------------------------------------------------------------------------------
-- Added for waits_in_user_coroutines_spec and unfinished_handler_spec: a chunked response read
-- piece by piece, as it streams
---------------------------------------------------------------------------------------------------

-- Reads a response head (up to the empty line) within `timeout` seconds; returns the parsed
-- head (status, version, header(), has_token(), raw_head), or nil, err.
function Conn:read_head(timeout)
    local head, err = self:read_until("\r\n\r\n", timeout or DEFAULT_TIMEOUT)
    if not head then
        return nil, "no complete head: " .. tostring(err)
    end
    local res, perr = parse_head(head:sub(1, -5))
    if not res then
        return nil, perr
    end
    res.raw_head = head
    return res
end

-- Reads the next chunk of a chunked body within `timeout` seconds: its data ("" for the last
-- chunk, whose trailer section is read too), or nil, err.
function Conn:read_chunk(timeout)
    local deadline = M.now() + (timeout or DEFAULT_TIMEOUT)
    local line, err = self:read_until("\r\n", deadline - M.now())
    if not line then
        return nil, "chunk size line: " .. tostring(err)
    end
    local size = tonumber(line:match("^(%x+)") or "", 16)
    if not size then
        return nil, "bad chunk size line: " .. string.format("%q", line)
    end
    if size == 0 then
        repeat
            local tl, terr = self:read_until("\r\n", deadline - M.now())
            if not tl then
                return nil, "trailer: " .. tostring(terr)
            end
        until tl == "\r\n"
        return ""
    end
    local data, derr = self:receive_exact(size + 2, deadline - M.now())
    if not data then
        return nil, "chunk data: " .. tostring(derr)
    end
    if data:sub(-2) ~= "\r\n" then
        return nil, "chunk data not followed by CRLF"
    end
    return data:sub(1, -3)
end

-- The last `lines` lines of text (a log's tail for an error message).
function M.tail(text, lines)
    local all = {}
    for l in (text or ""):gmatch("[^\n]*") do
        all[#all + 1] = l
    end
    return table.concat(all, "\n", math.max(1, #all - lines), #all)
end

-- lunaserve beside a service the spec started (Redis, PostgreSQL: anything with :stop()):
-- starts the server with opts (opts.any: a master with workers may answer, as M.start_any),
-- and stops the service again if the server does not start.
function M.start_beside(service, opts)
    local ok, srv = pcall(opts and opts.any and M.start_any or M.start, opts)
    if not ok then
        service:stop()
        error(srv, 2)
    end
    return srv
end

-- Stops lunaserve first, which must exit cleanly (stop_ok: status 0, no sanitizer report),
-- then the service, also when lunaserve did not; then raises lunaserve's failure, if any.
-- Either may be nil (a start that failed).
function M.stop_beside(service, srv)
    local ok, err = true, nil
    if srv then
        ok, err = pcall(srv.stop_ok, srv)
    end
    if service then
        service:stop()
    end
    if not ok then
        error(err, 0)
    end
end

return M
