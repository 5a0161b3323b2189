-- Test app for spec/load_waits_spec.lua: the app's code waits while it loads. It connects to
-- an HTTP server (LUNASERVE_SPEC_UPSTREAM, a port) and keeps the status line it read, or
-- sleeps LUNASERVE_SPEC_LOAD_SLEEP ms; LUNASERVE_SPEC_LOAD_FAIL makes it fail after the wait.
-- VERSION is replaced by the spec when it writes a new version of this file.
local lunaserve = require("lunaserve")

local VERSION = "v1"
local started = lunaserve.now and lunaserve.now() or os.time()

local sleep_ms = tonumber(os.getenv("LUNASERVE_SPEC_LOAD_SLEEP") or "0")
if sleep_ms > 0 then
    lunaserve.sleep(sleep_ms)
end

local upstream_line = "none"
local port = tonumber(os.getenv("LUNASERVE_SPEC_UPSTREAM") or "")
if port then
    local sock = lunaserve.tcp()
    sock:settimeout(2000)
    assert(sock:connect("127.0.0.1", port))
    assert(sock:send("GET /echo/from-load HTTP/1.1\r\nHost: up\r\nConnection: close\r\n\r\n"))
    upstream_line = assert(sock:receive("*l"))
    local body = sock:receive("*a")
    upstream_line = upstream_line .. " " .. tostring(body:find('"path":"/echo/from-load"', 1, true) ~= nil)
    sock:close()
end

if os.getenv("LUNASERVE_SPEC_LOAD_FAIL") == VERSION then
    error("failing after the wait")
end

return function(req, res)
    res:finish(VERSION .. " " .. upstream_line)
end
