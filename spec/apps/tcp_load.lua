-- Test app for spec/tcp_load_time_spec.lua: code that runs while the app loads connects to the
-- upstream whose port is in $TCP_SPEC_UPSTREAM_PORT (issue 10: "Where it works: ... while the
-- app loads"), echoes a line, and keeps the socket; GET / reports what it got.
local lunaserve = require("lunaserve")

local function vals(...)
    local t = {}
    for i = 1, select("#", ...) do
        t[i] = string.format("%q", (select(i, ...))):gsub("\\\n", "\\n")
    end
    return table.concat(t, ", ")
end

local report = {}
local sock = lunaserve.tcp()
local function step(label, f, ...)
    local ok, a, b, c = pcall(f, ...)
    report[#report + 1] = label .. ": " .. (ok and vals(a, b, c) or ("error " .. tostring(a)))
end
sock:settimeout(3000)
step("connect", sock.connect, sock, "127.0.0.1", tonumber(os.getenv("TCP_SPEC_UPSTREAM_PORT")))
step("send", sock.send, sock, "@load ECHO\nhi\n")
step("receive", sock.receive, sock)
local text = table.concat(report, "\n") .. "\n"

-- The handler holds the socket (an upvalue): a socket nothing refers to is collected, and
-- its __gc closes it.
return function(req, res)
    assert(sock)
    res:finish(text)
end
