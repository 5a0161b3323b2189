-- Support for the WebSocket memory specs (issue 14, "Memory is bounded"): enough file
-- descriptors for ~1,000 sockets, which build is under test (ASan's RSS is larger), the
-- server's RSS and open descriptors, and many WebSockets opened in batches.
local S = require("spec.support.server")
local W = require("spec.support.ws")

local M = {}

-- This process's pid (lua-socket has no getpid; /proc/self is the reader itself).
function M.self_pid()
    local s = assert(S.read_file("/proc/self/stat"))
    return assert(tonumber(s:match("^(%d+)")))
end

-- The soft and hard RLIMIT_NOFILE of process `pid` (math.huge for unlimited).
local function nofile(pid)
    local limits = assert(S.read_file("/proc/" .. pid .. "/limits"))
    local soft, hard = limits:match("Max open files%s+(%S+)%s+(%S+)")
    local function n(v)
        return v == "unlimited" and math.huge or assert(tonumber(v), v)
    end
    return n(soft), n(hard)
end

-- Raises this process's soft RLIMIT_NOFILE to at least `need` (util-linux's prlimit on our own
-- pid), so that this spec's sockets fit; a server started afterwards inherits it (its sockets
-- fit too). Fails with the reason when the hard limit is below `need`.
function M.ensure_nofile(need)
    local pid = M.self_pid()
    local soft, hard = nofile(pid)
    if soft >= need then
        return soft
    end
    if hard < need then
        error(string.format("this spec needs %d file descriptors; the hard limit is %d "
            .. "(raise it: ulimit -Hn)", need, hard), 2)
    end
    local ok = os.execute(string.format("prlimit --pid %d --nofile=%d: >/dev/null 2>&1", pid, need))
    soft = nofile(pid)
    if not ok or soft < need then
        error(string.format("could not raise the soft limit of file descriptors to %d "
            .. "(prlimit, from util-linux; now %s)", need, tostring(soft)), 2)
    end
    return soft
end

-- Whether the binary under test is built with AddressSanitizer (its dynamic symbols name
-- ASan's runtime): its RSS per connection is larger (redzones, shadow memory).
function M.asan()
    local p = io.popen("nm -D " .. S.shquote(S.bin()) .. " 2>/dev/null")
    local syms = p:read("a")
    p:close()
    if syms ~= "" then
        return syms:find("__asan_init", 1, true) ~= nil
    end
    -- no nm (binutils): look for the symbol's name in the file itself
    return (S.read_file(S.bin()) or ""):find("__asan_init", 1, true) ~= nil
end

-- S.start's env for a spec that measures the server's memory: the ASAN_OPTIONS of this
-- process with ASan's quarantine of freed memory (256 MB by default) kept to 8 MB, so that the
-- resident memory says what the server holds (as spec/support/cosocket.lua does).
function M.env()
    local asan = os.getenv("ASAN_OPTIONS") or ""
    return { ASAN_OPTIONS = (asan ~= "" and asan .. ":" or "") .. "quarantine_size_mb=8" }
end

-- The server's resident memory in KiB.
function M.rss_kb(srv)
    return assert(srv:status_kb("VmRSS"), "no VmRSS for the server")
end

-- How many file descriptors the server has open.
function M.fd_count(srv)
    local p = io.popen("ls /proc/" .. tonumber(srv.pid) .. "/fd 2>/dev/null | wc -l")
    local n = tonumber(p:read("a"):match("%d+"))
    p:close()
    return n
end

-- Opens `n` WebSockets to `target` on srv, in batches of `batch` (100): the handshake and a
-- first text message are sent in one write, then the 101 and the echo are read (asserted
-- exactly). Each message is `msg(i)`. Returns the list of connections; they are appended to
-- `into` as they open (for the caller's cleanup), when given. Every wait is bounded by
-- `timeout` seconds per batch (default 10).
function M.open_echoed(srv, n, target, msg, into, batch, timeout)
    into = into or {}
    batch = batch or 100
    local first = #into + 1
    for b = 0, n - 1, batch do
        local group = {}
        for i = b + 1, math.min(n, b + batch) do
            local c = srv:connect(timeout or 10)
            into[#into + 1] = c
            group[#group + 1] = { c = c, i = i }
            assert(c:send(W.request(target) .. W.frame(W.TEXT, msg(i))))
        end
        local deadline = S.now() + (timeout or 10)
        for _, g in ipairs(group) do
            local head, err = g.c:read_until("\r\n\r\n", math.max(0.1, deadline - S.now()))
            assert(head and W.strip_date(head) == W.RESPONSE_101,
                "connection " .. g.i .. ": no 101: " .. tostring(head or err))
            local want = W.server_frame(W.TEXT, msg(g.i))
            local got, rerr = g.c:receive_exact(#want, math.max(0.1, deadline - S.now()))
            assert(got == want, "connection " .. g.i .. ": echo " .. S.q(got) .. " " .. tostring(rerr))
        end
    end
    return { table.unpack(into, first) }
end

return M
